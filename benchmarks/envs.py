"""7. Packages in the job: --deps auto resolution in the kernel, first --pip run (build) vs a
warm second run (restore from the bucket's cache), and the restore of a bigger environment."""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import Bench, Row, fmt_s, say

TYPICAL_CELL = """\
import os, json, math
from pathlib import Path
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
import matplotlib.pyplot as plt
from scipy import stats
df = pd.read_csv("data.csv")
"""
# Distributions of a typical data-science kernel, made as metadata only (what
# importlib.metadata reads), plus filler so the kernel has about 300 distributions in all.
TYPICAL = {"numpy": "numpy", "pandas": "pandas", "scikit_learn": "sklearn",
           "matplotlib": "matplotlib", "scipy": "scipy"}
FILLER = 150
_SECONDS = re.compile(r"in ([0-9.]+) s$")


def fake_site(root: Path) -> Path:
    site = root / "fake-site"
    names = dict(TYPICAL) | {f"filler_pkg_{i}": f"filler_mod_{i}" for i in range(FILLER)}
    for dist, module in names.items():
        info = site / f"{dist}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "top_level.txt").write_text(module + "\n")
        files = [f"{module}/__init__.py", f"{module}/core.py", f"{dist}-1.0.dist-info/METADATA"]
        (info / "RECORD").write_text("".join(f"{f},,\n" for f in files))
    return site


def bench_auto_resolution(bench: Bench) -> None:
    from batchmagic.run import distmap, envs

    site = fake_site(Path(tempfile.mkdtemp(dir=bench.root)))
    sys.path.insert(0, str(site))
    try:
        request = envs.PackageRequest()
        colds, warms = [], []
        for _ in range(5):
            distmap.module_distributions.cache_clear()
            start = time.perf_counter()
            packages = envs.resolve_packages(TYPICAL_CELL, request, image="python:3.11",
                                             cwd=bench.root, pushed={}, input_keys=())
            colds.append(time.perf_counter() - start)
            start = time.perf_counter()
            envs.resolve_packages(TYPICAL_CELL, request, image="python:3.11", cwd=bench.root,
                                  pushed={}, input_keys=())
            warms.append(time.perf_counter() - start)
        count = len(list(__import__("importlib.metadata").metadata.distributions()))
    finally:
        sys.path.remove(str(site))
        distmap.module_distributions.cache_clear()
    pinned = sorted(r.split("==")[0] for r in packages.requirements)
    say(f"  {count} distributions in the kernel; resolved {pinned}")
    cold, warm = min(colds), min(warms)
    say(f"  cold (first cell, the distribution map not yet built): {fmt_s(cold)}; "
        f"warm: {fmt_s(warm)}")
    bench.rows.append(Row("--deps auto, pandas/numpy cell, cold", fmt_s(cold), "-", "-",
                          "< 0.5 s", cold < 0.5))
    bench.rows.append(Row("--deps auto, pandas/numpy cell, warm", fmt_s(warm), "-", "-",
                          "< 0.5 s", warm < 0.5))


def _setup_seconds(run: Any, phrase: str) -> float | None:
    for line in run.logs:
        if line.startswith("[setup]") and phrase in line:
            match = _SECONDS.search(line)
            if match:
                return float(match.group(1))
    return None


def build_then_restore(bench: Bench, specs: str, label: str) -> tuple[float, float, Any]:
    cell = "print('ok')"
    start = time.perf_counter()
    built = bench.cell(f"--local --deps none --pip {specs} --rebuild-env", cell)
    first = time.perf_counter() - start
    start = time.perf_counter()
    restored = bench.cell(f"--local --deps none --pip {specs}", cell)
    second = time.perf_counter() - start
    assert _setup_seconds(restored, "restored from the cache") is not None, restored.logs
    size = next((line for line in built.logs if "packed for the cache" in line), "")
    say(f"  {label}: first run (build) {fmt_s(first)}, second run (restore) {fmt_s(second)}; "
        f"{size.removeprefix('[setup] ')}")
    return first, second, restored


def restore_here(bench: Bench, requirement: str) -> tuple[float, float, float]:
    """(wall s, CPU s, MB): the job's restore step (checksum, unpack) of the cached archive of
    ``requirement``, run here with its CPU time counted: the machine's load shows in the wall
    time of the job's own line, much less in CPU time."""
    import resource

    from batchmagic.aws.clients import AwsClients
    from batchmagic.run.envcache import list_environments
    from batchmagic.run.target import local_target
    from batchmagic.runtime import envsetup

    clients = AwsClients(local_target())
    bucket = next(b["Name"] for b in clients.s3.list_buckets()["Buckets"])
    [env] = [e for e in list_environments(clients, bucket, "batchmagic")
             if e.requirements == (requirement,)]
    work = Path(tempfile.mkdtemp(dir=bench.root))
    archive = work / "env.tar.gz"
    clients.s3.download_file(bucket, env.uri.split(f"s3://{bucket}/", 1)[1], str(archive))
    sha = envsetup.file_sha256(str(archive))
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    start = time.perf_counter()
    assert envsetup.restore(str(archive), sha, str(work / "env"))
    wall = time.perf_counter() - start
    after = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime
              for a, b in zip(usage, after, strict=True))
    return wall, cpu, env.size / 1e6


def bench_envs(bench: Bench) -> None:
    say("== 7. packages in the job: auto resolution, build vs restore ==")
    bench_auto_resolution(bench)
    first, second, _ = build_then_restore(bench, "cowsay==6.1", "--pip cowsay (small, pure)")
    bench.rows.append(Row("--pip cowsay: first run vs warm run", fmt_s(second), fmt_s(first),
                          f"{first / second:.1f}x faster", "(info)", None))
    big = bench.args.env_packages
    first, second, restored = build_then_restore(bench, big, f"--pip {big}")
    restore = _setup_seconds(restored, "restored from the cache") or float("nan")
    wall, cpu, size = restore_here(bench, big)
    say(f"  restore step of the {size:.1f} MB archive run here: {wall:.2f} s wall, "
        f"{cpu:.2f} s CPU (load average {__import__('os').getloadavg()[0]:.1f})")
    bench.rows.append(Row(f"--pip {big}: restore step, CPU time", f"{cpu:.2f} s", "-", "-",
                          "< 5 s", cpu < 5))
    bench.rows.append(Row(f"--pip {big}: restore in the job", f"{restore:.1f} s", "-", "-",
                          "< 5 s", restore < 5))
    bench.rows.append(Row(f"--pip {big}: first run vs warm run", fmt_s(second), fmt_s(first),
                          f"{first / second:.1f}x faster", "(info)", None))

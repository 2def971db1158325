"""Memory and first-cell benchmarks, each beside a baseline measured in the same run.

    python benchmarks/footprint.py                      # all three, about 3 minutes
    python benchmarks/footprint.py --only first-cell    # first-cell | emulator | download
    python benchmarks/footprint.py --gb 0.25 --download-gb 0.5   # smaller, quicker

1. first cell: a fresh kernel (a new Python process with an IPython InteractiveShell) of a fresh
   user (empty state directory, no emulator running): ``%load_ext batchmagic`` then at once
   ``%%aws_batch --local print(1+1)``; then warm cells. Baseline: the first cell of a fresh
   kernel when another kernel already started and set up the emulator (the floor).
2. emulator memory: resident memory of the background emulator (and its warm AWS CLI) at rest
   after setup and one job, its peak while 1 GB goes up and down through S3, and what stays
   after the objects are deleted. Baseline: moto's own server, the same transfers.
3. kernel memory while downloading a 2 GB output with ``download.download_outputs``: peak growth
   and growth kept afterwards. Baseline: ``aws s3 cp`` of the same object (peak resident).

``--before DIR`` (a checkout of an earlier version, e.g. ``git worktree add /tmp/old <commit>``)
also runs that version's fresh kernels in the same run, alternating trial by trial with this
one, for the first cell and the emulator at rest: before and after side by side under the same
load.

Everything runs in temporary directories (state, config, IPython dir); every emulator started
here is stopped at the end. Exit status 1 when a target fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import Row, isolate, say, table
from benchmarks.procmem import PeakSampler, mb, rss, settle, tree_rss

MiB = 1024 * 1024
MB = 1_000_000
VENV_BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve()

# ---------------------------------------------------------------------------------------------
# 1. First cell of a fresh kernel


CHILD_FIRST_CELL = """
import io, json, sys, time, contextlib
t0 = time.perf_counter()
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config
config = Config()
config.HistoryManager.enabled = False
shell = InteractiveShell.instance(config=config)
t_shell = time.perf_counter()
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
    shell.run_line_magic("load_ext", "batchmagic")
    shell.magics_manager.registry["AwsBatchMagics"].display_mode = "text"
    t_load = time.perf_counter()
    run = shell.run_cell_magic("aws_batch", "--local", "print(1+1)")
    t_first = time.perf_counter()
    assert run.status == "SUCCEEDED" and run.logs == ["2"], (run, out.getvalue())
    warm = []
    for _ in range(int(sys.argv[1])):
        start = time.perf_counter()
        run = shell.run_cell_magic("aws_batch", "--local", "print(1+1)")
        warm.append(time.perf_counter() - start)
        assert run.status == "SUCCEEDED", run
print(json.dumps({"shell": t_shell - t0, "load": t_load - t_shell, "first": t_first - t_load,
                  "warm": warm}))
"""


def fresh_kernel(root: Path, warm: int, version: Path | None = None) -> dict[str, Any]:
    """One fresh kernel's first cell (and ``warm`` more); ``version``: the checkout whose
    batchmagic it imports (and whose emulator it starts), else this one."""
    env = dict(os.environ)
    if version is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(version), env.get("PYTHONPATH", "")])
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD_FIRST_CELL, str(warm)], cwd=root,
                          capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - start
    return result


def bench_first_cell(args: argparse.Namespace, rows: list[Row]) -> None:
    say(f"== first --local cell of a fresh kernel, fresh user ({args.trials} trials) ==")
    cold, floor, warm, before, before_warm = [], [], [], [], []
    for trial in range(args.trials):
        if args.before:
            with fresh_user(f"first-before-{trial}") as root:
                old = fresh_kernel(root, args.warm, args.before)
            say(f"  trial {trial + 1}, before: %load_ext {old['load']:.2f} s, "
                f"first cell {old['first']:.2f} s  (load average {load_average()})")
            before.append(old["load"] + old["first"])
            before_warm += old["warm"]
        with fresh_user(f"first-{trial}") as root:
            first = fresh_kernel(root, args.warm)
            again = fresh_kernel(root, 0)  # a second kernel: the emulator is up and set up
        say(f"  trial {trial + 1}: shell {first['shell']:.2f} s, %load_ext {first['load']:.2f} s, "
            f"first cell {first['first']:.2f} s (whole process {first['process']:.2f} s); "
            f"a second kernel's first cell {again['first']:.2f} s  "
            f"(load average {load_average()})")
        cold.append(first["load"] + first["first"])
        floor.append(again["load"] + again["first"])
        warm += first["warm"]
    med, base = statistics.median(cold), statistics.median(floor)
    rows.append(Row("first cell, fresh kernel + fresh user (%load_ext + cell)", f"{med:.2f} s",
                    f"{base:.2f} s", f"{med / base:.1f}x", "<= 2 s", med <= 2.0))
    if before:
        old_med = statistics.median(before)
        rows.append(Row("first cell, the same, before (--before)", f"{med:.2f} s",
                        f"{old_med:.2f} s", f"{old_med / med:.2f}x faster", "(info)", None))
    if warm:
        wmed = statistics.median(warm)
        old = f"{statistics.median(before_warm) * 1000:.0f} ms (before)" if before_warm else "-"
        rows.append(Row(f"warm cell, median of {len(warm)}", f"{wmed * 1000:.0f} ms", old, "-",
                        "<= 0.5 s", wmed <= 0.5))


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# ---------------------------------------------------------------------------------------------
# 2. Emulator memory at rest and after moving data through S3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fresh_user(name: str) -> Iterator[Path]:
    """Someone who has just installed batchmagic: state, settings, IPython profile, AWS files
    and the cache (where the emulator makes the Python image's environment once) all new."""
    root = Path(tempfile.mkdtemp(prefix=f"batchmagic-bench-{name}-"))
    saved = dict(os.environ)
    isolate(root)
    os.environ["BATCHMAGIC_CACHE_DIR"] = os.environ["XDG_CACHE_HOME"] = str(root / "cache")
    try:
        yield root
    finally:
        from batchmagic.emulator.daemon import stop_background_emulator

        stop_background_emulator()  # the one this user's kernels started, if any
        os.environ.clear()
        os.environ.update(saved)
        LEFT_FOR_THE_END.append(root)


# Each user's files are removed when the benchmark ends, not as the next one starts: on a file
# system that skips recently freed inodes when it makes new ones (ext4 without a journal, see
# benchmarks/README.md), the next user's environment (750 files) would pay for the deletion.
LEFT_FOR_THE_END: list[Path] = []


def make_big_files(directory: Path, count: int, size: int) -> list[tuple[Path, str]]:
    directory.mkdir(parents=True, exist_ok=True)
    block = os.urandom(MiB)
    files = []
    for i in range(count):
        path = directory / f"big{i}.bin"
        with open(path, "wb") as out:
            for j in range(size // MiB):
                out.write(i.to_bytes(4, "big") + j.to_bytes(4, "big") + block[8:])
        files.append((path, path.name))
    return files


def move_through_s3(clients: Any, bucket: str, files: list[tuple[Path, str]], dest: Path,
                    tag: str) -> None:
    """Up with staging.upload, down with download.download_outputs, then delete everything."""
    from batchmagic.aws.download import download_outputs
    from batchmagic.aws.staging import RunLocation, delete_prefix, upload

    up = RunLocation(bucket, f"{tag}/up")
    upload(clients, up, [(path, "dl/out/" + key) for path, key in files], {})
    download_outputs(clients, RunLocation(bucket, f"{tag}/up/in/dl"), dest)
    delete_prefix(clients, RunLocation(bucket, tag))
    shutil.rmtree(dest, ignore_errors=True)


def measure_server(label: str, pid: int, clients: Any, bucket: str,
                   files: list[tuple[Path, str]], root: Path) -> dict[str, int]:
    def total() -> int:
        return sum(tree_rss(pid))

    rest = settle(total, 2.0)
    with PeakSampler(total, 0.1) as peak:
        move_through_s3(clients, bucket, files, root / f"dl-{label}", f"bench-{label}")
    after = settle(total)
    own, kids = tree_rss(pid)
    say(f"  {label}: at rest {mb(rest)}, peak {mb(peak.peak)}, after {mb(after)} "
        f"(process {mb(own)} + children {mb(kids)})")
    return {"rest": rest, "peak": peak.peak, "after": after, "own": own, "children": kids}


def bench_emulator(args: argparse.Namespace, rows: list[Row]) -> None:
    from batchmagic.aws.clients import AwsClients, AwsTarget
    from batchmagic.emulator.daemon import read_state

    count = max(1, round(args.gb * 1024 / 128))
    say(f"== emulator resident memory: at rest, and moving {count} x 128 MiB up and down ==")
    with fresh_user("emulator") as root:
        files = make_big_files(root / "src", count, 128 * MiB)
        fresh_kernel(root, 0)  # starts the background emulator, sets it up, runs one job
        state = read_state() or {}
        target = AwsTarget(endpoint_url=str(state["url"]), emulator=True)
        clients = AwsClients(target)
        bucket = next(b["Name"] for b in clients.s3.list_buckets()["Buckets"])
        ours = measure_server("batchmagic emulator", int(state["pid"]), clients, bucket,
                              files, root)

        port = free_port()
        moto = subprocess.Popen([str(VENV_BIN / "moto_server"), "-p", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            moto_target = AwsTarget(endpoint_url=f"http://127.0.0.1:{port}", emulator=True)
            moto_clients = AwsClients(moto_target)
            for _ in range(100):
                try:
                    moto_clients.s3.create_bucket(Bucket="bench")
                    break
                except Exception:  # not listening yet
                    time.sleep(0.1)
            base = measure_server("moto_server", moto.pid, moto_clients, "bench", files, root)
        finally:
            moto.terminate()
            moto.wait()
    if args.before:
        with fresh_user("emulator-before") as root:
            fresh_kernel(root, 0, args.before)
            state = read_state() or {}
            rest = settle(lambda: sum(tree_rss(int(state["pid"]))), 2.0)
            own, kids = tree_rss(int(state["pid"]))
            say(f"  before (--before): at rest {mb(rest)} (process {mb(own)} + children "
                f"{mb(kids)})")
        rows.append(Row("emulator resident at rest, before (--before)", mb(ours["rest"]),
                        f"{mb(rest)} (before)", "-", "(info)", None))
    gb = count * 128 / 1024
    rows.append(Row("emulator resident at rest (+ warm AWS CLI)",
                    f"{mb(ours['rest'])} ({mb(ours['own'])} + {mb(ours['children'])})",
                    f"{mb(base['rest'])} (moto_server)", "-", "<= 200 MiB",
                    ours["rest"] <= 200 * MiB))
    rows.append(Row(f"emulator peak while moving {gb:.2g} GiB", mb(ours["peak"]),
                    mb(base["peak"]), "-", "(info)", None))
    kept = ours["after"] - ours["rest"]
    rows.append(Row(f"emulator growth kept after {gb:.2g} GiB", mb(kept),
                    mb(base["after"] - base["rest"]), "-", "<= 32 MiB", kept <= 32 * MiB))


# ---------------------------------------------------------------------------------------------
# 3. Kernel memory while downloading a big output


CHILD_DOWNLOAD = """
import gc, json, sys, threading, time
from pathlib import Path
sys.path.insert(0, sys.argv[5])
from benchmarks.procmem import PeakSampler, rss, settle
from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.aws.download import download_outputs
from batchmagic.aws.staging import RunLocation
clients = AwsClients(AwsTarget(endpoint_url=sys.argv[1], emulator=True))
location = RunLocation(sys.argv[2], sys.argv[3])
clients.s3.list_objects_v2(Bucket=location.bucket, Prefix=location.out_prefix)
gc.collect()
me = __import__("os").getpid()
base = settle(lambda: rss(me), 0.5)
start = time.perf_counter()
with PeakSampler(lambda: rss(me), 0.02) as peak:
    result = download_outputs(clients, location, Path(sys.argv[4]))
seconds = time.perf_counter() - start
del result
gc.collect()
after = settle(lambda: rss(me), 2.0)
print(json.dumps({"base": base, "peak": peak.peak, "after": after, "seconds": seconds}))
"""


def bench_download(args: argparse.Namespace, rows: list[Row]) -> None:
    from batchmagic.aws.clients import AwsClients, AwsTarget
    from batchmagic.aws.staging import RunLocation, upload
    from batchmagic.emulator.daemon import read_state

    size = int(args.download_gb * 1024) * MiB
    say(f"== kernel memory while downloading one {size / 2**30:.2g} GiB output ==")
    with fresh_user("download") as root:
        fresh_kernel(root, 0)
        state = read_state() or {}
        url = str(state["url"])
        clients = AwsClients(AwsTarget(endpoint_url=url, emulator=True))
        bucket = next(b["Name"] for b in clients.s3.list_buckets()["Buckets"])
        (path, _), = make_big_files(root / "src", 1, size)
        location = RunLocation(bucket, "bench/in/big")
        upload(clients, RunLocation(bucket, "bench"), [(path, "big/out/big.bin")], {})
        path.unlink()
        done = subprocess.run([sys.executable, "-c", CHILD_DOWNLOAD, url, bucket,
                               location.run_prefix, str(root / "ours"),
                               str(HERE.parent.parent)], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(done.stderr[-3000:])
        ours = json.loads(done.stdout.strip().splitlines()[-1])
        assert (root / "ours" / "big.bin").stat().st_size == size
        env = {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "x",
               "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}
        start = time.perf_counter()
        cli = subprocess.Popen([str(VENV_BIN / "aws"), "s3", "cp", "--only-show-errors",
                                f"{location.out_uri}big.bin", str(root / "cli.bin")], env=env)
        with PeakSampler(lambda: rss(cli.pid), 0.02) as cli_peak:
            cli.wait()
        cli_seconds = time.perf_counter() - start
    grow, kept = ours["peak"] - ours["base"], ours["after"] - ours["base"]
    say(f"  batchmagic: {ours['seconds']:.1f} s, resident {mb(ours['base'])} before, peak "
        f"+{mb(grow)}, +{mb(kept)} kept; aws s3 cp: {cli_seconds:.1f} s, peak "
        f"{mb(cli_peak.peak)} resident")
    rows.append(Row(f"kernel growth downloading {size / 2**30:.2g} GiB (peak)", mb(grow),
                    f"{mb(cli_peak.peak)} (aws s3 cp, whole process)", "-", "<= 64 MiB",
                    grow <= 64 * MiB))
    rows.append(Row("kernel growth kept afterwards", mb(kept), "-", "-", "<= 16 MiB",
                    kept <= 16 * MiB))
    rows.append(Row(f"download time {size / 2**30:.2g} GiB", f"{ours['seconds']:.1f} s",
                    f"{cli_seconds:.1f} s (aws s3 cp)", f"{cli_seconds / ours['seconds']:.2f}x",
                    "(info)", None))


BENCHMARKS = {"first-cell": bench_first_cell, "emulator": bench_emulator,
              "download": bench_download}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS))
    parser.add_argument("--trials", type=int, default=3, help="fresh kernels (default 3)")
    parser.add_argument("--warm", type=int, default=10, help="warm cells per trial")
    parser.add_argument("--gb", type=float, default=1.0, help="GiB moved through the emulator")
    parser.add_argument("--download-gb", type=float, default=2.0, help="GiB of the download")
    parser.add_argument("--before", type=Path, default=None, metavar="DIR",
                        help="a checkout of an earlier version: its first cell and emulator at "
                             "rest measured in the same run")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    rows: list[Row] = []
    try:
        for name, bench in BENCHMARKS.items():
            if args.only is None or name in args.only:
                bench(args, rows)
                say()
    finally:
        for root in LEFT_FOR_THE_END:
            shutil.rmtree(root, ignore_errors=True)
    say(table(rows))
    return 1 if any(row.ok is False for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

"""2. Staging throughput: ``staging.upload`` / ``staging.download_outputs`` vs
``aws s3 cp --recursive`` on the same emulator."""

from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import MB, VENV_BIN, Bench, MiB, Row, cli_env, say


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """CPU time (user + system) of this process, or of its finished children: what each
    client spent, which the machine's load does not inflate the way it inflates wall time."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def make_files(directory: Path, count: int, size: int) -> list[tuple[Path, str]]:
    directory.mkdir(parents=True)
    block = os.urandom(size)
    files = []
    for i in range(count):
        path = directory / f"f{i:05d}.bin"
        # Distinct contents (the first bytes differ), no compression or dedup shortcuts.
        path.write_bytes(i.to_bytes(8, "big") + block[8:])
        files.append((path, path.name))
    return files


def dir_bytes(directory: Path) -> tuple[int, int]:
    files = [p for p in directory.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def bench_staging(bench: Bench) -> None:
    from batchmagic.aws.clients import AwsClients
    from batchmagic.aws.staging import RunLocation, delete_prefix
    from batchmagic.run.target import local_target, resolve_target
    from batchmagic.settings import Settings

    target, settings = resolve_target(Settings().with_values(local=True))
    clients = AwsClients(target)
    bucket = settings.bucket or ""
    endpoint = local_target().endpoint_url or ""
    env = cli_env(bench, endpoint)
    aws = str(VENV_BIN / "aws")
    quick = bench.args.quick
    sets = [("64 x 4 MiB" if not quick else "16 x 4 MiB", 16 if quick else 64, 4 * MiB),
            ("2000 x 4 KiB" if not quick else "500 x 4 KiB", 500 if quick else 2000, 4096)]
    say("== 2. staging throughput: batchmagic staging vs aws s3 cp --recursive "
        f"({bench.args.reps} rep(s), best of) ==")
    for label, count, size in sets:
        data = bench.root / "staging" / f"src-{count}"
        files = make_files(data, count, size)
        total = count * size
        results: dict[str, list[float]] = defaultdict(list)
        kept: list[Path] = []
        for rep in range(bench.args.reps):
            tag = f"bench/{count}-{rep}-{os.getpid()}"
            # batchmagic upload: keys land under <tag>/bm/in/dl/out/, which is the out/ half of
            # RunLocation(<tag>/bm/in/dl), so download_outputs reads the very same objects.
            up = RunLocation(bucket, f"{tag}/bm")
            down = RunLocation(bucket, f"{tag}/bm/in/dl")
            planned = [(path, "dl/out/" + key) for path, key in files]
            dest = bench.root / "staging" / f"bm-{count}-{rep}"
            dest_cli = bench.root / "staging" / f"cli-{count}-{rep}"
            kept += [dest, dest_cli]
            bm_up = functools.partial(upload_all, clients, up, planned, total)
            bm_down = functools.partial(download_all, clients, down, dest, count)
            cli_up = [aws, "s3", "cp", "--recursive", "--only-show-errors", str(data),
                      f"s3://{bucket}/{tag}/cli/"]
            cli_down = [aws, "s3", "cp", "--recursive", "--only-show-errors", down.out_uri,
                        str(dest_cli)]
            # Each tool goes first in every other repetition: whatever the one before leaves
            # behind (a warm cache, freed inodes) favours neither.
            order = 1 if rep % 2 == 0 else -1
            ups: list[Step] = [("bm up", bm_up), ("cli up", cli_up)]
            downs: list[Step] = [("bm down", bm_down), ("cli down", cli_down)]
            for name, step in (*ups[::order], *downs[::order]):
                seconds, cpu = timed(step, env)
                results[name].append(seconds)
                results[f"{name} cpu"].append(cpu)
            assert dir_bytes(dest) == (count, total), dir_bytes(dest)
            assert dir_bytes(dest_cli) == (count, total), dir_bytes(dest_cli)
            delete_prefix(clients, RunLocation(bucket, tag))
        ceiling = server_ceiling(clients, bucket, files, f"bench/raw-{os.getpid()}")
        # Downloads are removed only now, not between repetitions: on a file system that skips
        # recently deleted inodes when it makes new ones (ext4 without a journal, as on the
        # machine of benchmarks/README.md: ``recently_deleted`` in fs/ext4/ialloc.c skips inodes
        # freed in the last 60-300 s), a file made right after 4,000 deletions cost up to 0.7 ms
        # of kernel time instead of ~30 us, charged to whichever tool downloaded next.
        for directory in (data, *kept):
            shutil.rmtree(directory)
        for direction in ("up", "down"):
            ours, cli = min(results[f"bm {direction}"]), min(results[f"cli {direction}"])
            speedup = cli / ours
            ours_cpu = min(results[f"bm {direction} cpu"])
            cli_cpu = min(results[f"cli {direction} cpu"])
            say(f"  {label} {direction:>4}: batchmagic {ours:.2f} s ({rate(total, count, ours)})"
                f", aws s3 cp {cli:.2f} s ({rate(total, count, cli)}), speedup {speedup:.2f}x;"
                f" plain boto3 calls, 16 threads: {ceiling[direction]:.2f} s; client CPU "
                f"batchmagic {ours_cpu:.2f} s, aws s3 cp {cli_cpu:.2f} s (whole process)")
            name = "upload" if direction == "up" else "download"
            # The goal is for many small files, where per-request overhead decides; big files
            # are shown for information (a 4 MiB PUT is bound by the emulator's MD5 of it).
            small = size < MiB
            bench.rows.append(Row(
                f"{name} {label} ({total / MB:.0f} MB)",
                f"{ours:.2f} s, {rate(total, count, ours)}",
                f"{cli:.2f} s, {rate(total, count, cli)}",
                f"{speedup:.2f}x faster", ">= 1.5x" if small else "(info)",
                speedup >= 1.5 if small else None))
            bench.rows.append(Row(
                f"  client CPU, {name} {label}", f"{ours_cpu:.2f} s", f"{cli_cpu:.2f} s",
                f"{cli_cpu / ours_cpu:.2f}x less" if ours_cpu else "-", "(info)", None))


Step = tuple[str, "Callable[[], None] | list[str]"]
"""A named transfer: a function run in this process, or a command line (the AWS CLI)."""


def upload_all(clients: Any, location: Any, planned: list[tuple[Path, str]],
               total: int) -> None:
    from batchmagic.aws.staging import upload

    assert upload(clients, location, planned, {}) == total


def download_all(clients: Any, location: Any, dest: Path, count: int) -> None:
    from batchmagic.aws.download import download_outputs

    got = download_outputs(clients, location, dest)
    assert len(got.files) == count, len(got.files)


def timed(step: Callable[[], None] | list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds, CPU seconds) of one transfer: a function of this process, or a command (its
    CPU is that of the finished child)."""
    who = resource.RUSAGE_SELF if callable(step) else resource.RUSAGE_CHILDREN
    start, cpu = time.perf_counter(), cpu_seconds(who)
    if callable(step):
        step()
    else:
        subprocess.run(step, env=env, check=True)
    return time.perf_counter() - start, cpu_seconds(who) - cpu


def rate(total: int, count: int, seconds: float) -> str:
    """MB/s, and files/s when the files are small (then requests, not bytes, are the limit)."""
    if total / count >= MiB:
        return f"{total / MB / seconds:.0f} MB/s"
    return f"{total / MB / seconds:.1f} MB/s, {count / seconds:.0f} files/s"


def server_ceiling(clients: Any, bucket: str, files: list[tuple[Path, str]],
                   prefix: str) -> dict[str, float]:
    """The same objects with bare put_object/get_object from 16 threads: the emulator's pace
    with no transfer library at all (what any client can reach at best on this machine)."""
    from concurrent.futures import ThreadPoolExecutor

    from batchmagic.aws.staging import RunLocation, delete_prefix

    def put(item: tuple[Path, str]) -> None:
        clients.s3.put_object(Bucket=bucket, Key=f"{prefix}/{item[1]}", Body=item[0].read_bytes())

    def get(item: tuple[Path, str]) -> None:
        clients.s3.get_object(Bucket=bucket, Key=f"{prefix}/{item[1]}")["Body"].read()

    out = {}
    for direction, fn in (("up", put), ("down", get)):
        start = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(fn, files))
        out[direction] = time.perf_counter() - start
    delete_prefix(clients, RunLocation(bucket, prefix))
    return out



"""The runner: options, the isolated environment, each benchmark in turn, the results table."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import benchmarks
from benchmarks.api_calls import bench_calls_per_minute
from benchmarks.browser_log import bench_browser_log
from benchmarks.envs import bench_envs
from benchmarks.fanout import bench_map
from benchmarks.harness import (
    ApiLog,
    Bench,
    fmt_s,
    instrument,
    isolate,
    machine,
    say,
    start_shell,
    table,
)
from benchmarks.latency import bench_latency
from benchmarks.parity import bench_parity
from benchmarks.staging import bench_staging
from benchmarks.trivial_cell import bench_trivial_cell


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=(benchmarks.__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3 cell runs, smaller staging sets, a 15 s job")
    parser.add_argument("--runs", type=int, help="warm trivial-cell runs (default 10)")
    parser.add_argument("--duration", type=int, help="seconds of the calls-per-minute job "
                        "(default 60)")
    parser.add_argument("--lines", type=int, help="lines of the latency cell (default 30)")
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between latency lines")
    parser.add_argument("--reps", type=int, help="staging repetitions, best kept (default 2)")
    parser.add_argument("--map-size", type=int, help="items (= children) of the --map sweep "
                        "(default 200)")
    parser.add_argument("--chatty-lines", type=int, default=100_000,
                        help="lines of the JupyterLab chatty cell (default 100,000)")
    parser.add_argument("--env-packages", default="pandas",
                        help="packages of the bigger environment restored (default pandas, "
                             "about 50 MB packed)")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS),
                        help="run only these benchmarks")
    args = parser.parse_args(argv)
    quick = args.quick
    args.runs = args.runs or (3 if quick else 10)
    args.duration = args.duration or (15 if quick else 60)
    args.lines = args.lines or (15 if quick else 30)
    args.reps = args.reps or (1 if quick else 2)
    args.map_size = args.map_size or (20 if quick else 200)
    return args


BENCHMARKS: dict[str, Callable[[Bench], None]] = {
    "cell": bench_trivial_cell, "staging": bench_staging, "calls": bench_calls_per_minute,
    "latency": bench_latency, "map": bench_map, "parity": bench_parity,
    "envs": bench_envs, "browser": bench_browser_log,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    root = Path(tempfile.mkdtemp(prefix="batchmagic-bench-"))
    cwd = Path.cwd()
    isolate(root)
    bench = Bench(root, args, ApiLog())
    try:
        instrument(bench)
        start_shell(bench)
        work = root / "cells"
        work.mkdir()
        os.chdir(work)
        say(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
        if "cell" not in (args.only or BENCHMARKS):
            # every benchmark needs the emulator; the first cell starts and sets it up
            start = time.perf_counter()
            bench.cell("--local", "pass")
            say(f"emulator started and set up in {fmt_s(time.perf_counter() - start)}")
        for name, fn in BENCHMARKS.items():
            if args.only is None or name in args.only:
                fn(bench)
                say()
    finally:
        os.chdir(cwd)
        from batchmagic.emulator.daemon import stop_background_emulator

        stopped = stop_background_emulator()
        shutil.rmtree(root, ignore_errors=True)
        say(f"background emulator {'stopped' if stopped else 'was not running'}; "
            f"{root} removed")
    for note in bench.notes[-1:]:
        say(note)
    say(f"load average at the end: {os.getloadavg()[0]:.1f} (1 min)")
    say()
    say(table(bench.rows))
    failed = [r for r in bench.rows if r.ok is False]
    return 1 if failed else 0


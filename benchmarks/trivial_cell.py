"""1. A trivial cell end to end (``%%aws_batch --local`` of ``print(1+1)`` in a real
InteractiveShell, warm) vs ``python -c "print(1+1)"``, with a breakdown of where the time goes."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from benchmarks.harness import (
    VENV_BIN,
    Bench,
    Call,
    Row,
    cli_env,
    fmt_s,
    percentile,
    say,
)


def bench_trivial_cell(bench: Bench) -> None:
    runs = bench.args.runs
    say(f"== 1. trivial cell: %%aws_batch --local print(1+1), {runs} warm runs ==")
    start = time.perf_counter()
    first = bench.cell("--local", "print(1+1)")
    cold = time.perf_counter() - start
    assert first.status == "SUCCEEDED" and "2" in first.logs, first
    say(f"  cold first cell (starts the background emulator, sets it up): {fmt_s(cold)}")
    bench.rows.append(Row("cold first cell (emulator start + setup)", fmt_s(cold), "-", "-",
                          "(info)", None))

    cell_times: list[float] = []
    breakdown: list[dict[str, float]] = []
    for _ in range(runs):
        mark = bench.api.mark()
        start = time.perf_counter()
        run = bench.cell("--local", "print(1+1)")
        elapsed = time.perf_counter() - start
        assert run.status == "SUCCEEDED" and run.logs == ["2"], run
        cell_times.append(elapsed)
        breakdown.append(cell_phases(bench, run, elapsed, bench.api.since(mark)))

    py_times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", "print(1+1)"], capture_output=True,
                             text=True, check=True).stdout
        py_times.append(time.perf_counter() - start)
        assert out.strip() == "2"
    aws_times = []
    for _ in range(max(3, runs // 2)):
        start = time.perf_counter()
        subprocess.run([str(VENV_BIN / "aws"), "--version"], capture_output=True, check=True,
                       env=cli_env(bench, ""))
        aws_times.append(time.perf_counter() - start)
    sidecar_times = sidecar_copy_times(bench, max(3, runs // 2))

    med, p95 = statistics.median(cell_times), percentile(cell_times, 95)
    pmed, pp95 = statistics.median(py_times), percentile(py_times, 95)
    say(f"  %%aws_batch: median {fmt_s(med)}, p95 {fmt_s(p95)}, "
        f"min {fmt_s(min(cell_times))}, max {fmt_s(max(cell_times))}")
    say(f"  python -c  : median {fmt_s(pmed)}, p95 {fmt_s(pp95)}")
    say(f"  aws --version (what each sidecar container starts): median "
        f"{fmt_s(statistics.median(aws_times))}")
    say("  what one sidecar does, alone (aws s3 cp --recursive of the 3 staged files): median "
        f"{fmt_s(statistics.median(sidecar_times))}")
    say("  where a warm cell's time goes (median over runs):")
    labels = list(breakdown[0])
    for label in labels:
        values = [b.get(label, 0.0) for b in breakdown]
        shown = (f"{statistics.median(values):.0f}" if label.startswith("API calls")
                 else fmt_s(statistics.median(values)))
        say(f"    {label:<66} {shown:>9}")
    bench.rows.append(Row("trivial cell, median", fmt_s(med), fmt_s(pmed),
                          f"{med / pmed:.1f}x", "<= 1 s", med <= 1.0))
    bench.rows.append(Row("trivial cell, p95", fmt_s(p95), fmt_s(pp95),
                          f"{p95 / pp95:.1f}x", "<= 1 s", p95 <= 1.0))


def sidecar_copy_times(bench: Bench, count: int) -> list[float]:
    """``aws s3 cp --recursive`` of three small objects, as the stage-in container runs it."""
    from batchmagic.aws.clients import AwsClients
    from batchmagic.aws.staging import RunLocation, delete_prefix
    from batchmagic.run.target import resolve_target
    from batchmagic.settings import Settings

    target, settings = resolve_target(Settings().with_values(local=True))
    clients = AwsClients(target)
    location = RunLocation(settings.bucket or "", f"bench/sidecar-{os.getpid()}")
    for name in ("cell.py", "bootstrap.py", "kestra.py"):
        clients.s3.put_object(Bucket=location.bucket, Key=location.in_prefix + name,
                              Body=b"print(1+1)\n" * 100)
    times = []
    for i in range(count):
        dest = bench.root / f"sidecar-{i}"
        start = time.perf_counter()
        subprocess.run([str(VENV_BIN / "aws"), "s3", "cp", location.in_uri, str(dest),
                        "--recursive", "--only-show-errors"],
                       env=cli_env(bench, target.endpoint_url or ""), check=True)
        times.append(time.perf_counter() - start)
        shutil.rmtree(dest)
    delete_prefix(clients, location)
    return times


# What each phase of run.timeline covers, as the breakdown prints it.
PHASE_LABELS = {
    "prepare": "prepare (parse, checks, template, target, queue, job definition)",
    "upload": "upload (cell, bootstrap)",
    "submit": "submit (SubmitJob)",
    "queue": "queue (SubmitJob returned -> job startedAt)",
    "stage-in": "stage-in (startedAt -> bootstrap starts)",
    "main": "main (bootstrap start -> end)",
    "stage-out": "stage-out (cell end -> kernel has the job's end, last lines)",
    "download": "download outputs",
    "cleanup": "cleanup (delete run prefix, ledger)",
}


def cell_phases(bench: Bench, run: Any, elapsed: float, calls: list[Call]) -> dict[str, float]:
    """One run's time split, as ``run.timeline`` tells it, plus what lies outside it."""
    timeline = run.timeline
    out: dict[str, float] = {}
    for phase in timeline:
        out[PHASE_LABELS.get(phase.name, phase.name)] = phase.duration
        if phase.name == "stage-out" and run.snapshot and run.snapshot.stopped_at:
            # Inside stage-out: from the job's stoppedAt until the kernel starts downloading.
            stopped = run.snapshot.stopped_at.timestamp()
            out["  of which: stoppedAt -> kernel has it and the last lines"] = max(
                0.0, phase.end - stopped)
    out["outside the timeline (magic line parsing, showing the summary)"] = (
        elapsed - timeline.total)
    ops = Counter(c.operation for c in calls)
    out["API calls per cell (count, not seconds)"] = float(len(calls))
    bench.notes.append("trivial cell API calls: " + ", ".join(f"{k} {v}" for k, v in
                                                               sorted(ops.items())))
    return out

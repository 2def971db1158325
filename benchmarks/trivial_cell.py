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
        bench.phases.reset()
        mark = bench.api.mark()
        start = time.perf_counter()
        t0 = time.time()
        run = bench.cell("--local", "print(1+1)")
        elapsed = time.perf_counter() - start
        t_end = time.time()
        assert run.status == "SUCCEEDED" and run.logs == ["2"], run
        cell_times.append(elapsed)
        breakdown.append(cell_phases(bench, run, t0, t_end, elapsed, bench.api.since(mark)))

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
        say(f"    {label:<60} {shown:>9}")
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


def cell_phases(bench: Bench, run: Any, t0: float, t_end: float, elapsed: float,
                calls: list[Call]) -> dict[str, float]:
    """One run's time split: kernel-side phases, and the job's own timeline from Batch."""
    p = dict(bench.phases.current)
    out: dict[str, float] = {}
    launch = p.pop("launch (all of submit side)", 0.0)
    for label in ("prepare (parse, template, checks)",
                  "resolve target (emulator health, setup cache)",
                  "boto3 clients (shared per target)", "resolve queue", "register job definition",
                  "HeadBucket (once per kernel)", "upload inputs (cell, bootstrap)"):
        out[label] = p.get(label, 0.0)
    submit = sum((c.end or c.start) - c.start for c in calls if c.operation == "SubmitJob")
    out["SubmitJob call"] = submit
    out["launch: rest (record, ledger, thread start)"] = launch - sum(
        out[k] for k in ("boto3 clients (shared per target)", "resolve queue",
                         "register job definition", "HeadBucket (once per kernel)",
                         "upload inputs (cell, bootstrap)", "SubmitJob call"))
    snap = run.snapshot
    created = snap.created_at.timestamp() if snap and snap.created_at else None
    started = snap.started_at.timestamp() if snap and snap.started_at else None
    stopped = snap.stopped_at.timestamp() if snap and snap.stopped_at else None
    wait_end = bench.phases.stamps.get("wait for terminal status")
    out["wait for terminal status (kernel side, total)"] = p.get("wait for terminal status", 0.0)
    if created and started and stopped and wait_end:
        out["  job: createdAt -> startedAt (queue, scheduling)"] = started - created
        out["  job: startedAt -> stoppedAt (3 containers run)"] = stopped - started
        seen = bench.container_seen
        for name in ("stage-in", "main", "stage-out"):
            began, ended = seen.get((run.job_id, name, "started")), seen.get(
                (run.job_id, name, "exited"))
            if began and ended:
                out[f"    {name}: log stream seen -> exit code seen"] = ended - began
        out["  job: stoppedAt -> kernel sees it (DescribeJobs pacing)"] = wait_end - stopped
    out["read log streams to their end"] = p.get("read log streams to their end", 0.0)
    out["download outputs"] = p.get("download outputs", 0.0)
    out["delete run prefix"] = p.get("delete run prefix", 0.0)
    accounted = launch + sum(out[k] for k in (
        "prepare (parse, template, checks)", "resolve target (emulator health, setup cache)",
        "wait for terminal status (kernel side, total)", "read log streams to their end",
        "download outputs", "delete run prefix"))
    out["other (magic parsing, thread hand-offs, display)"] = elapsed - accounted
    ops = Counter(c.operation for c in calls)
    out["API calls per cell (count, not seconds)"] = float(len(calls))
    bench.notes.append("trivial cell API calls: " + ", ".join(f"{k} {v}" for k, v in
                                                               sorted(ops.items())))
    return out



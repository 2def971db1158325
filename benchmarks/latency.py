"""4. Latency of a remote ``print`` until its line reaches the run's display."""

from __future__ import annotations

import statistics

from benchmarks.harness import (
    Bench,
    RecordingDisplay,
    Row,
    fmt_s,
    percentile,
    recording_display,
    say,
)


def latencies(display: RecordingDisplay, marker: str) -> list[float]:
    """Seconds from the remote print (its time.time() in the line) to arrival at the display."""
    found = []
    for container, line, arrived in display.arrivals:
        parts = line.split()
        if container == "main" and len(parts) == 3 and parts[0] == marker:
            found.append(arrived - float(parts[2]))
    return found


def ingest_split(bench: Bench, marker: str) -> tuple[list[float], list[float]]:
    """(print -> log event timestamp, log event timestamp -> poller delivery), per line."""
    ingest, poll = [], []
    for stamp_ms, message, delivered in bench.delivered:
        parts = message.split()
        if len(parts) == 3 and parts[0] == marker:
            ingest.append(stamp_ms / 1000 - float(parts[2]))
            poll.append(delivered - stamp_ms / 1000)
    return ingest, poll



def bench_latency(bench: Bench) -> None:
    count, gap = bench.args.lines, bench.args.gap
    say(f"== 4. log line latency: {count} lines, one every {gap} s ==")
    cell = (f"import time\nfor i in range({count}):\n"
            "    print('lat', i, f'{time.time():.6f}')\n"
            f"    time.sleep({gap})\n")
    bench.delivered.clear()
    with recording_display() as display:
        run = bench.cell("--local", cell)
    assert run.status == "SUCCEEDED", run
    got = latencies(display, "lat")
    assert len(got) == count, f"{len(got)} of {count} lines arrived"
    ingest, poll = ingest_split(bench, "lat")
    p50, p95, worst = statistics.median(got), percentile(got, 95), max(got)
    say(f"  print -> display: p50 {fmt_s(p50)}, p95 {fmt_s(p95)}, max {fmt_s(worst)}")
    if ingest:
        say(f"    print -> log event stored (emulator): p50 {fmt_s(statistics.median(ingest))}, "
            f"max {fmt_s(max(ingest))}")
        say(f"    log event -> GetLogEvents delivers it (poller pacing): p50 "
            f"{fmt_s(statistics.median(poll))}, p95 {fmt_s(percentile(poll, 95))}, "
            f"max {fmt_s(max(poll))}")
    bench.rows.append(Row("line latency p50", fmt_s(p50), "-", "-", "(info)", None))
    bench.rows.append(Row("line latency p95", fmt_s(p95), "-", "-", "<= 1 s", p95 <= 1.0))
    bench.rows.append(Row("line latency max", fmt_s(worst), "-", "-", "(info)", None))



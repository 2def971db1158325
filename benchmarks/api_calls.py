"""3. Batch + CloudWatch Logs API calls per job-minute made by the kernel side."""

from __future__ import annotations

import statistics
import time
from collections import Counter

from benchmarks.harness import Bench, Row, fmt_s, percentile, recording_display, say
from benchmarks.latency import latencies


def bench_calls_per_minute(bench: Bench) -> None:
    seconds = bench.args.duration
    say(f"== 3. Batch + Logs calls per job-minute: a cell printing a line every second "
        f"for {seconds} s ==")
    cell = (f"import time\nfor i in range({seconds}):\n"
            "    print('tick', i, f'{time.time():.6f}')\n    time.sleep(1)\n")
    mark = bench.api.mark()
    with recording_display() as display:
        start = time.perf_counter()
        run = bench.cell("--local", cell)
        wall = time.perf_counter() - start
    calls = bench.api.since(mark)
    assert run.status == "SUCCEEDED", run
    got = latencies(display, "tick")
    assert len(got) == seconds, f"{len(got)} of {seconds} lines arrived"
    minutes = wall / 60
    by_op = Counter((c.service, c.operation) for c in calls)
    counted = {k: v for k, v in by_op.items() if k[0] in ("batch", "logs")}
    per_minute = sum(counted.values()) / minutes
    say(f"  cell took {wall:.1f} s ({minutes:.2f} job-minutes); kernel-side calls:")
    for (service, op), n in sorted(by_op.items()):
        say(f"    {service:<6} {op:<22} {n:>4}  ({n / minutes:5.1f} per job-minute)")
    say(f"  Batch + Logs: {per_minute:.1f} per job-minute; when (seconds after the first):")
    first = min((c.start for c in calls if c.service in ("batch", "logs")), default=0.0)
    for (service, op), _n in sorted(counted.items()):
        offsets = " ".join(f"{c.start - first:.1f}" for c in calls
                           if (c.service, c.operation) == (service, op))
        say(f"    {op:<22} {offsets}")
    say(f"  (same run) line latency: p50 {fmt_s(statistics.median(got))}, "
        f"p95 {fmt_s(percentile(got, 95))}, max {fmt_s(max(got))}")
    batch = sum(v for k, v in counted.items() if k[0] == "batch") / minutes
    logs = sum(v for k, v in counted.items() if k[0] == "logs") / minutes
    bench.rows.append(Row(f"Batch+Logs calls/job-minute ({seconds} s job)",
                          f"{per_minute:.0f} (batch {batch:.0f} + logs {logs:.0f})", "-", "-",
                          "<= 20", per_minute <= 20))
    bench.rows.append(Row(f"line latency p95, same {seconds} s job", fmt_s(percentile(got, 95)),
                          "-", "-", "(info)", None))



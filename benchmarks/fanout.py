"""5. A --map sweep of many children: API calls against the account quotas, every result back."""

from __future__ import annotations

import time
from collections import Counter

from benchmarks.harness import Bench, Call, Row, say

# Account quotas the follower must stay within (DESIGN §2: DescribeJobs ~1/s is the budget we
# set ourselves for one sweep; GetLogEvents is about 10/s per account and region, shared).
QUOTAS = {"DescribeJobs": 1.0, "GetLogEvents": 5.0}


def peak_per_second(calls: list[Call], operation: str) -> int:
    """The most calls of ``operation`` started within any one-second window."""
    starts = sorted(c.start for c in calls if c.operation == operation)
    best, first = 0, 0
    for last, start in enumerate(starts):
        while start - starts[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


def bench_map(bench: Bench) -> None:
    size = bench.args.map_size
    say(f"== 5. --map over {size} items, one child each: API calls vs quotas ==")
    bench.shell.user_ns["items"] = list(range(size))
    mark = bench.api.mark()
    start = time.perf_counter()
    run = bench.cell(f"--local --map items --as x --pull y --max-children {size} "
                     "--on-error collect", "y = x * 2")
    wall = time.perf_counter() - start
    calls = bench.api.since(mark)
    assert run.results == [x * 2 for x in range(size)], run.failed
    by_op = Counter(c.operation for c in calls if c.service in ("batch", "logs"))
    say(f"  {size} children in {wall:.1f} s; every result returned; Batch + Logs calls:")
    for op, n in sorted(by_op.items()):
        say(f"    {op:<22} {n:>5}  ({n / wall:5.2f}/s mean, {peak_per_second(calls, op)} in "
            "the busiest second)")
    for op, quota in QUOTAS.items():
        mean = by_op.get(op, 0) / wall
        bench.rows.append(Row(f"{op}/s, {size}-child sweep (mean)", f"{mean:.2f}", "-", "-",
                              f"<= {quota:g}", mean <= quota))
    sessions = by_op.get("StartLiveTail", 0)
    bench.rows.append(Row(f"StartLiveTail sessions, {size}-child sweep", str(sessions), "-",
                          "-", "<= 2", sessions <= 2))
    bench.rows.append(Row(f"{size}-child sweep wall time", f"{wall:.1f} s", "-", "-", "(info)",
                          None))

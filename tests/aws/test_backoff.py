"""One backoff for every polling loop: grow while idle, cap, start over after progress."""

from __future__ import annotations

import time

import pytest

from batchmagic.aws.backoff import AgePacing, Backoff
from batchmagic.aws.follow import FOLLOW_PACING


def test_intervals_grow_to_the_cap_and_start_over_after_progress() -> None:
    backoff = Backoff(first=0.2, most=2.0, factor=1.5)
    interval, seen = backoff.first, []
    for _ in range(10):
        interval = backoff.after(interval)
        seen.append(interval)
    assert seen[0] == pytest.approx(0.3) and seen == sorted(seen) and seen[-1] == 2.0
    assert backoff.after(2.0, progressed=True) == 0.2
    assert backoff.after(0.01) == 0.2  # never below the first interval


def test_attempts_end_when_the_time_is_up() -> None:
    backoff = Backoff(first=0.02, most=0.05, factor=2.0)
    started, asked = time.monotonic(), 0
    for _ in backoff.attempts(0.15):
        asked += 1
    assert asked >= 3  # at once, then after 0.02, 0.04, 0.05 ... s
    assert time.monotonic() - started >= 0.15


def test_attempts_stop_when_the_loop_returns() -> None:
    def first_valid(answers: list[str]) -> str:
        for _ in Backoff(first=0.01, most=0.01).attempts(5.0):
            answer = answers.pop(0)
            if answer == "VALID":
                return answer
        return "timed out"

    assert first_valid(["CREATING", "CREATING", "VALID", "never asked"]) == "VALID"


def test_age_pacing_grows_with_the_age_and_is_capped() -> None:
    pacing = AgePacing(first=0.1, most=15.0, fraction=0.5)
    assert pacing.interval(0.0) == 0.1  # never sooner than the first interval
    assert pacing.interval(4.0) == pytest.approx(2.0)
    assert pacing.interval(600.0) == 15.0


def _asks(pacing: AgePacing, seconds: float) -> int:
    clock, asked = 0.0, 0
    while clock < seconds:
        asked += 1
        clock += pacing.interval(clock)
    return asked


@pytest.mark.parametrize(("seconds", "most"), [(1.0, 5), (60.0, 12), (180.0, 20)])
def test_a_runs_status_polls_fit_the_call_budget(seconds: float, most: int) -> None:
    """However often the job changes: a job that ends within a second is seen ending within a
    tenth of a second, a one-minute job costs twelve DescribeJobs, and from then on four
    a minute (the budget of a job-minute is 20 Batch and Logs calls)."""
    assert _asks(FOLLOW_PACING, seconds) <= most
    assert FOLLOW_PACING.interval(0.5) <= 0.5 and FOLLOW_PACING.interval(3600) == 15.0

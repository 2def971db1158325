"""The outcome names what happened, whatever Batch's status says."""

from __future__ import annotations

from typing import Any

import pytest

from batchmagic.aws.job import JobSnapshot
from batchmagic.run.outcome import Outcome, judge
from batchmagic.run.outputs import CellResult


def _snapshot(status: str, reason: str | None = None,
              **exits: tuple[int | None, str | None]) -> JobSnapshot:
    containers: list[dict[str, Any]] = []
    for name in ("stage-in", "main", "stage-out"):
        code, why = exits.get(name.replace("-", "_"), (0, None))
        containers.append({"name": name, "exitCode": code, "reason": why})
    return JobSnapshot.from_description({
        "jobId": "j-1", "jobName": "cell", "status": status, "statusReason": reason,
        "ecsProperties": {"taskProperties": [{"containers": containers}]}})


OK = CellResult(ok=True)
RAISED = CellResult(ok=False, exception_type="ValueError", exception_message="bad")


@pytest.mark.parametrize(("snapshot", "cell", "cancelled", "expected"), [
    (_snapshot("SUCCEEDED"), OK, False, "succeeded"),
    (_snapshot("SUCCEEDED", main=(1, None)), RAISED, False, "cell failed (ValueError)"),
    (_snapshot("SUCCEEDED", main=(137, None)), CellResult(), False, "killed (out of memory?)"),
    (_snapshot("SUCCEEDED", main=(137, "OutOfMemoryError: Container killed due to memory "
                                       "usage")), CellResult(), False, "killed (out of memory)"),
    (_snapshot("SUCCEEDED", stage_in=(1, None), main=(None, "DependencyNotSatisfied")),
     CellResult(), False, "stage-in failed (exit 1)"),
    (_snapshot("FAILED", "Cancelled from the widget", main=(143, None)),
     CellResult(ok=False, exception_type="JobTerminated"), True, "terminated"),
    (_snapshot("FAILED", "Job attempt duration exceeded timeout", main=(143, None)),
     CellResult(ok=False, exception_type="JobTerminated"), False, "timed out"),
    (_snapshot("SUCCEEDED", stage_out=(2, None)), OK, False, "stage-out failed (exit 2)"),
])
def test_the_outcome_of_a_finished_run(snapshot: JobSnapshot, cell: CellResult,
                                       cancelled: bool, expected: str) -> None:
    verdict = judge(snapshot, cell, ended=True, cancelled=cancelled)
    assert str(verdict).startswith(expected), verdict
    assert verdict.outcome == expected.split(" (")[0]  # a str-valued enum


def test_before_the_end_the_outcome_says_where_the_job_is() -> None:
    assert judge(None, CellResult(), ended=False).outcome is Outcome.PENDING
    assert judge(_snapshot("RUNNABLE"), CellResult(), ended=False).outcome is Outcome.PENDING
    assert judge(_snapshot("RUNNING"), CellResult(), ended=False).outcome is Outcome.RUNNING

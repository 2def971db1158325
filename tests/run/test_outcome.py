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


@pytest.mark.parametrize(("snapshot", "cell", "kwargs", "expected"), [
    # Batch's timeout wins over everything the containers say.
    (_snapshot("FAILED", "Job attempt duration exceeded timeout", main=(137, None)),
     CellResult(), {}, "timed out (Batch: FAILED)"),
    (_snapshot("SUCCEEDED", main=(0, None)), CellResult(ok=False, exception_type="JobTerminated"),
     {}, "terminated"),
    (_snapshot("FAILED", main=(143, None)),
     CellResult(ok=False, exception_type="bootstrap.JobTerminated"), {}, "terminated"),
    (_snapshot("FAILED", main=(1, None)), RAISED, {"cancelled": True}, "terminated"),
    (_snapshot("FAILED", stage_in=(2, "Essential container exited"), main=(None, None)),
     CellResult(), {}, "stage-in failed (exit 2: Essential container exited)"),
    (_snapshot("FAILED", stage_in=(None, "CannotPullContainerError"), main=(None, "x")),
     CellResult(), {}, "failed (x)"),
    (_snapshot("FAILED", main=(1, "OutOfMemoryError: Container killed")), RAISED, {},
     "killed (out of memory)"),
    (_snapshot("SUCCEEDED", main=(1, None)),
     CellResult(ok=False, exception_type="pandas.errors.ParserError"), {},
     "cell failed (ParserError)"),
    (_snapshot("FAILED", main=(2, "Essential container exited")), CellResult(), {},
     "cell failed (exit 2: Essential container exited)"),
    (_snapshot("FAILED", main=(3, None)), CellResult(), {}, "cell failed (exit 3)"),
    (_snapshot("FAILED", "Task failed to start", main=(None, "CannotStartContainerError: x")),
     CellResult(), {}, "failed (CannotStartContainerError: x)"),
    (_snapshot("FAILED", "Task failed to start", main=(None, None)), CellResult(), {},
     "failed (Task failed to start)"),
    (_snapshot("FAILED", main=(None, None)), CellResult(), {},
     "failed (the main container never ran)"),
    (_snapshot("FAILED", stage_out=(1, "Essential container exited")), OK, {},
     "stage-out failed (exit 1: Essential container exited)"),
    (_snapshot("SUCCEEDED", stage_out=(None, None)), OK, {}, "succeeded"),
    (_snapshot("SUCCEEDED"), OK, {"error": "--pull: 'x' is not defined after the cell"},
     "failed (--pull: 'x' is not defined after the cell)"),
    (_snapshot("SUCCEEDED"), OK,
     {"error": "--pull: the cell did not leave never_defined; job cell-20261128-080935-025e9b "
               "(f16d999c-70bc-4c6b-8f58-3df144221223)"},
     "failed (--pull: the cell did not leave never_defined)"),
    (_snapshot("SUCCEEDED"), OK, {"error": "e" * 80}, f"failed ({'e' * 80})"),
    (_snapshot("SUCCEEDED"), OK, {"error": "e" * 81}, f"failed ({'e' * 79}…)"),
    (_snapshot("SUCCEEDED"), OK, {"ended": False}, "running"),
])
def test_the_verdict_names_the_first_thing_that_went_wrong(
        snapshot: JobSnapshot, cell: CellResult, kwargs: dict[str, Any], expected: str) -> None:
    arguments: dict[str, Any] = {"ended": True, **kwargs}
    assert str(judge(snapshot, cell, **arguments)) == expected


def test_outcomes_say_whether_they_are_final_and_good() -> None:
    assert [o for o in Outcome if not o.is_final] == [Outcome.PENDING, Outcome.RUNNING]
    assert [o for o in Outcome if o.ok] == [Outcome.SUCCEEDED]
    assert str(Outcome.CELL_FAILED) == "cell failed"
    assert judge(_snapshot("SUCCEEDED"), OK, ended=True).outcome.ok


def test_a_job_described_without_containers_never_ran_main() -> None:
    bare = JobSnapshot.from_description({"jobId": "j-1", "jobName": "cell", "status": "FAILED",
                                         "statusReason": "Task failed to start"})
    assert str(judge(bare, CellResult(), ended=True)) == "failed (Task failed to start)"

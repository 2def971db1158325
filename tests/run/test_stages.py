"""main never ran because stage-in failed: said plainly instead of "main exit code 143"."""

from __future__ import annotations

from typing import Any

import pytest

from batchmagic.aws.job import JobSnapshot
from batchmagic.run.stages import main_never_started

DEPENDENCY = ("CannotStartContainerError: dependency graph: failed to resolve container "
              "ordering dependency [stage-in(x) (STOPPED->RUNNING) - Exit: 2] for target "
              "[main(y)]")


def _snapshot(*containers: dict[str, Any], status: str = "FAILED") -> JobSnapshot:
    return JobSnapshot.from_description({
        "jobId": "4f2e", "jobName": "cell-1", "status": status,
        "ecsProperties": {"taskProperties": [{"containers": list(containers)}]}})


def _stage_in(exit_code: int | None) -> dict[str, Any]:
    return {"name": "stage-in", "exitCode": exit_code, "logStreamName": "s/stage-in/1"}


def _main(reason: str | None, stream: str | None = None) -> dict[str, Any]:
    return {"name": "main", "exitCode": 143, "reason": reason, "logStreamName": stream}


def test_a_failed_stage_in_is_the_reason_with_its_last_log_lines() -> None:
    snapshot = _snapshot(_stage_in(2), _main(DEPENDENCY), {"name": "stage-out", "exitCode": 0})
    lines = ["downloading 3 inputs", "  ", "data.csv: 403 Forbidden  ", "",
             "  AccessDenied on s3://b/p/in/data.csv", "stage-in: giving up"]
    assert main_never_started(snapshot, lines) == (
        "main never started: stage-in failed, exit 2: data.csv: 403 Forbidden / AccessDenied "
        "on s3://b/p/in/data.csv / stage-in: giving up")


def test_a_silent_stage_in_failure_has_no_quote() -> None:
    snapshot = _snapshot(_stage_in(1), _main(DEPENDENCY))
    assert main_never_started(snapshot, []) == "main never started: stage-in failed, exit 1"
    assert main_never_started(snapshot, [" ", ""]) == (
        "main never started: stage-in failed, exit 1")


@pytest.mark.parametrize("stage_in", [_stage_in(0), _stage_in(None), None])
def test_without_a_failed_stage_in_the_agent_reason_is_shown(
        stage_in: dict[str, Any] | None) -> None:
    snapshot = _snapshot(*([stage_in] if stage_in else []), _main(DEPENDENCY))
    assert main_never_started(snapshot, ["ignored"]) == f"main never started: {DEPENDENCY}"


def test_a_cannot_start_reason_other_than_dependency_is_shown_as_is() -> None:
    reason = "CannotStartContainerError: image pull failed"
    snapshot = _snapshot(_stage_in(2), _main(reason))
    assert main_never_started(snapshot, ["x"]) == f"main never started: {reason}"


@pytest.mark.parametrize("snapshot", [
    None,
    _snapshot(_stage_in(2)),  # no main container reported (yet)
    _snapshot(_stage_in(2), _main(DEPENDENCY, stream="s/main/1")),  # main did run: it has logs
    _snapshot(_stage_in(2), _main("OutOfMemoryError: container killed")),
    _snapshot(_stage_in(2), _main(None)),
    _snapshot(_stage_in(2), _main("Essential container exited: " + DEPENDENCY)),
])
def test_main_that_ran_or_failed_otherwise_is_not_said_to_never_start(
        snapshot: JobSnapshot | None) -> None:
    assert main_never_started(snapshot, ["stage-in: failed"]) is None

"""How a finished run failed, in one line, checked branch by branch on a real run handle (no
job: the handle is given the job's last DescribeJobs and the cell's result.json)."""

from __future__ import annotations

from typing import Any

import pytest

from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.aws.job import JobSnapshot
from batchmagic.ledger import RunRecord
from batchmagic.run.diagnosis import Diagnosis
from batchmagic.run.failure import failure
from batchmagic.run.handle import Run
from batchmagic.run.outputs import CellResult
from batchmagic.run.startwatch import StartWatch

WHERE = "job cell-1 (4f2e)"
NEVER_STARTED = ("CannotStartContainerError: dependency graph: failed to resolve container "
                 "ordering dependency [stage-in(x) (STOPPED->RUNNING) - Exit: 2]")


def _run(pull: tuple[str, ...] = (), ended_at: float | None = None) -> Run:
    record = RunRecord(job_id="4f2e", job_name="cell-1", region="us-east-1", bucket="bkt",
                       run_prefix="batchmagic/me/r1", output_dir="/tmp/out", pull=pull,
                       ended_at=ended_at)
    # No AWS call is made: an endpoint nobody listens on shows it.
    clients = AwsClients(AwsTarget(region="us-east-1", endpoint_url="http://127.0.0.1:9"))
    return Run(record, clients, display=None)  # type: ignore[arg-type]


def _snapshot(status: str = "SUCCEEDED", reason: str | None = None, main_exit: int | None = 0,
              main_reason: str | None = None, stage_in_exit: int | None = 0,
              memory: str = "2048") -> JobSnapshot:
    def container(name: str, code: int | None, why: str | None = None,
                  stream: str | None = "s/1") -> dict[str, Any]:
        return {"name": name, "exitCode": code, "reason": why, "logStreamName": stream,
                "resourceRequirements": [{"type": "MEMORY", "value": memory}]}
    return JobSnapshot.from_description({
        "jobId": "4f2e", "jobName": "cell-1", "status": status, "statusReason": reason,
        "ecsProperties": {"taskProperties": [{"containers": [
            container("stage-in", stage_in_exit),
            container("main", main_exit, main_reason,
                      None if main_reason == NEVER_STARTED else "s/2"),
            container("stage-out", 0)]}]}})


def _failed(run: Run, snapshot: JobSnapshot, watch: StartWatch | None = None,
            never_collected: bool = False) -> str | None:
    run.snapshot = snapshot
    error = failure(run, snapshot, watch, never_collected)
    if error is None:
        return None
    assert error.run is run  # the error carries everything that came back
    return str(error)


def test_a_run_that_never_started_in_time_says_so_with_the_diagnosis() -> None:
    run = _run()
    watch = StartWatch(run, diagnose_after=60, runnable_timeout=600.0)
    watch.timed_out = True
    snapshot = _snapshot("FAILED", "Job cancelled", main_exit=None)
    assert _failed(run, snapshot, watch) == (
        f"{WHERE} did not start within 600 s and was cancelled: no cause found")
    run.diagnosis = Diagnosis("no compute environment is VALID", "run batchmagic doctor",
                              "checks")
    watch.runnable_timeout = 90.5
    assert _failed(run, snapshot, watch) == (
        f"{WHERE} did not start within 90.5 s and was cancelled: no compute environment is "
        "VALID - run batchmagic doctor")
    watch.timed_out = False  # a watch that did not fire is not the reason
    assert _failed(run, snapshot, watch) == (
        f"{WHERE} FAILED: Job cancelled [stage-in: exit 0; main: no exit code; stage-out: "
        "exit 0]")


@pytest.mark.parametrize("setup_type", ["batchmagic_envsetup.SetupError",
                                        "batchmagic_versions.PickleMismatch"])
def test_a_failed_setup_is_not_blamed_on_the_cell(setup_type: str) -> None:
    run = _run()
    run.cell_result = CellResult(ok=False, exception_type=setup_type,
                                 exception_message="pip install pandas==9.9 failed")
    assert _failed(run, _snapshot("FAILED", main_exit=1)) == (
        f"the job's setup failed, the cell did not run: pip install pandas==9.9 failed; {WHERE}")


def test_the_cell_raising_names_the_exception_and_main_exit_code() -> None:
    run = _run()
    run.cell_result = CellResult(ok=False, exception_type="ZeroDivisionError",
                                 exception_message="division by zero")
    assert _failed(run, _snapshot("FAILED", main_exit=1)) == (
        f"ZeroDivisionError: division by zero - the cell raised remotely; main exited 1; {WHERE}")


def test_main_that_never_started_quotes_the_last_stage_in_lines() -> None:
    run = _run()
    for line in ["one", "two", "three", "s3://bkt/in/x: AccessDenied"]:
        run.logbook.container("stage-in").add(line)
    snapshot = _snapshot("FAILED", "Essential container in task exited", main_exit=143,
                         main_reason=NEVER_STARTED, stage_in_exit=2)
    assert _failed(run, snapshot) == (
        "main never started: stage-in failed, exit 2: two / three / s3://bkt/in/x: "
        f"AccessDenied; {WHERE}")


def test_a_killed_main_is_called_out_of_memory() -> None:
    snapshot = _snapshot("FAILED", "Essential container in task exited", main_exit=137,
                         memory="1024")
    assert _failed(_run(), snapshot) == (
        "main was killed (SIGKILL; out of memory at 1024 MiB?) — try --memory 6144; " + WHERE)


def test_a_failed_job_lists_every_container_with_its_reason() -> None:
    snapshot = _snapshot("FAILED", "Essential container in task exited", main_exit=3,
                         main_reason="Essential container exited")
    assert _failed(_run(), snapshot) == (
        f"{WHERE} FAILED: Essential container in task exited [stage-in: exit 0; main: exit 3 "
        "(Essential container exited); stage-out: exit 0]")
    # A host that went away (a Spot reclaim) leaves no exit code, only the reason.
    assert _failed(_run(), _snapshot("FAILED", "Host EC2 (instance i-0abc) terminated.",
                                     main_exit=None, main_reason="Host EC2 terminated")) == (
        f"{WHERE} FAILED: Host EC2 (instance i-0abc) terminated. [stage-in: exit 0; main: no "
        "exit code (Host EC2 terminated); stage-out: exit 0]")
    assert _failed(_run(), _snapshot("FAILED", None, main_exit=0)) == (
        f"{WHERE} FAILED: no reason given [stage-in: exit 0; main: exit 0; stage-out: exit 0]")
    # main failing fails the run even when Batch calls the job SUCCEEDED (stage-out decides).
    assert _failed(_run(), _snapshot("SUCCEEDED", main_exit=2)) == (
        f"{WHERE} SUCCEEDED: no reason given [stage-in: exit 0; main: exit 2; stage-out: exit 0]")


def test_a_job_whose_main_never_ran_is_a_failure() -> None:
    assert _failed(_run(), _snapshot("SUCCEEDED", main_exit=None)) == (
        f"{WHERE}: the main container never ran")


def test_a_run_without_result_json_says_why() -> None:
    snapshot = _snapshot()
    run = _run()
    run.snapshot = snapshot
    assert str(failure(run, snapshot, None)) == _failed(_run(), snapshot) == (
        f"{WHERE}: no results under s3://bkt/batchmagic/me/r1/out/ - already collected by an "
        "earlier run or attach (the prefix is deleted unless --keep)")
    assert _failed(_run(), snapshot, never_collected=True) == (
        "the cell ended the process before batchmagic could save its results (os._exit?); "
        f"outputs written before that were still copied back; {WHERE}")
    # Collected before (the ledger has its end): not a failure, the run shows that record.
    assert _failed(_run(ended_at=1.0), snapshot, never_collected=True) is None


def test_a_pulled_variable_the_cell_did_not_leave_is_named_with_why() -> None:
    run = _run(pull=("model", "scores", "table"))
    run.cell_result = CellResult(ok=True, unpicklable_pull={
        "model": "cannot pickle '_thread.lock'", "scores": "cannot pickle 'generator'"})
    run.pulled = {"table": [1, 2]}
    assert _failed(run, _snapshot()) == (
        "--pull: the cell did not leave model, scores (model: cannot pickle '_thread.lock'; "
        f"scores: cannot pickle 'generator'); {WHERE}")
    run.cell_result = CellResult(ok=True)
    assert _failed(run, _snapshot()) == f"--pull: the cell did not leave model, scores; {WHERE}"


def test_a_run_that_succeeded_is_no_failure() -> None:
    run = _run(pull=("model",))
    run.cell_result = CellResult(ok=True)
    run.pulled = {"model": "fitted"}
    assert _failed(run, _snapshot()) is None
    # A result.json that came back wins over a guess that the run was never collected.
    assert _failed(run, _snapshot(), never_collected=True) is None

"""A stage-in that fails: main never starts, and the run says so plainly, with stage-in's last
log lines, instead of "main exit code 143"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchmagic import JobFailedError
from batchmagic.aws.clients import AwsClients
from batchmagic.notebook.format import summary_lines
from tests.helpers import wait_for


def _set_state(clients: AwsClients, ce: str, state: str) -> None:
    clients.batch.update_compute_environment(computeEnvironment=ce, state=state)
    wait_for(lambda: (lambda e: e["status"] == "VALID" and e["state"] == state)(
        clients.batch.describe_compute_environments(computeEnvironments=[ce])[
            "computeEnvironments"][0]))


@pytest.fixture()
def held_environment(ip: Any, local_clients: AwsClients) -> Iterator[str]:
    """The local queue's compute environment, DISABLED (jobs wait in RUNNABLE) until the test
    enables it again; always enabled again afterwards."""
    warm = ip.run_cell_magic("aws_batch", "--local", "print('warm')")
    job = local_clients.batch.describe_jobs(jobs=[warm.job_id])["jobs"][0]
    queue = local_clients.batch.describe_job_queues(jobQueues=[job["jobQueue"]])["jobQueues"][0]
    ce = queue["computeEnvironmentOrder"][0]["computeEnvironment"]
    _set_state(local_clients, ce, "DISABLED")
    try:
        yield ce
    finally:
        _set_state(local_clients, ce, "ENABLED")


def test_a_failed_stage_in_is_reported_plainly(ip: Any, tmp_path: Path,
                                               local_clients: AwsClients,
                                               held_environment: str) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("alpha")
    run = ip.run_cell_magic("aws_batch", "--local --no-wait --inputs data",
                            "print(open('data/a.txt').read())")
    wait_for(lambda: run.refresh().status == "RUNNABLE", timeout=30)
    # Before the job starts, the inputs change under it: a key below a file's key cannot be
    # copied into the work dir (a.txt cannot be a file and a directory), so stage-in fails.
    local_clients.s3.put_object(Bucket=run.location.bucket,
                                Key=f"{run.location.in_prefix}data/a.txt/b.txt", Body=b"x")
    _set_state(local_clients, held_environment, "ENABLED")
    with pytest.raises(JobFailedError) as info:
        run.wait(timeout=60)
    message = str(info.value)
    assert message.startswith("main never started: stage-in failed, exit 1: ")
    assert "a.txt" in message.split(": ", 2)[2]  # stage-in's own error line
    assert f"; job {run.job_name} ({run.job_id})" in message
    assert str(run.error) == message
    assert str(run.outcome) == "stage-in failed"
    main = run.snapshot.container("main") if run.snapshot else None
    assert main is not None and main.exit_code == 143
    assert main.reason is not None and "CannotStartContainerError" in main.reason
    lines = summary_lines(run)
    assert lines[0].startswith(f"stage-in failed (exit 1) - Batch {run.status}, main never "
                               "started")
    assert "143" not in lines[0] and "CannotStartContainerError" not in lines[0]
    assert lines[1] == f"error: {message}"

"""--timeout reaches Batch, and Batch stops the job: the user sees "timed out" and Batch's reason.

AWS's minimum is 60 s (JobTimeout.attemptDurationSeconds); the client and the shared emulator
both keep it. So that this takes seconds, the test runs against an emulator of its own that
accepts shorter timeouts (``run_emulator(min_timeout_s=1)``) and lowers the client's copy of the
minimum for itself only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from batchmagic import JobFailedError
from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.emulator import run_emulator
from batchmagic.jobdef import spec
from batchmagic.provision.setup import ensure_setup
from batchmagic.run.outcome import TIMEOUT_REASON, Outcome

CELL = "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\nprint('woke up')"


@pytest.fixture(scope="module")
def short_timeouts() -> Iterator[tuple[AwsClients, dict[str, Any]]]:
    with run_emulator(min_timeout_s=1) as url:
        clients = AwsClients(AwsTarget(region="us-east-1", endpoint_url=url, emulator=True))
        ready = ensure_setup(clients, name=f"t{uuid.uuid4().hex[:8]}", region="us-east-1")
        yield clients, ready.settings


def test_timeout_stops_the_job_and_the_run_says_timed_out(
        ip: Any, short_timeouts: tuple[AwsClients, dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    clients, ready = short_timeouts
    monkeypatch.setattr(spec, "MIN_TIMEOUT_SECONDS", 1)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # the emulator takes any key
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    line = (f"--endpoint-url {ready['endpoint_url']} --region us-east-1 "
            f"--bucket {ready['bucket']} --queue {ready['queue']} "
            f"--execution-role {ready['execution_role']} --task-role {ready['task_role']} "
            "--timeout 4")
    with pytest.raises(JobFailedError) as caught:
        ip.run_cell_magic("aws_batch", line, CELL)
    run = caught.value.run
    assert run.outcome is Outcome.TIMED_OUT and run.outcome == "timed out"
    assert run.status == "FAILED"
    assert TIMEOUT_REASON in (run.reason or "")
    assert "timed out" in capsys.readouterr().out
    assert not any("woke up" in line for line in run.logs)

    (job,) = clients.batch.describe_jobs(jobs=[run.job_id])["jobs"]
    assert job["timeout"] == {"attemptDurationSeconds": 4}
    assert job["statusReason"] == TIMEOUT_REASON
    # Stopped by Batch after its 4 s, long before the cell's 120 s sleep would have ended.
    assert job["stoppedAt"] - job["startedAt"] < 60_000

"""StartLiveTail refused for real (no permission, over the session quota): a running job's lines
still arrive while it runs, by polling GetLogEvents, each once and in order.

The emulator refuses every live tail session when started with
``BATCHMAGIC_EMULATOR_LIVE_TAIL_REFUSE`` (see the emulator README), as AWS answers a role
without ``logs:StartLiveTail`` or an account over its live tail session quota.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from batchmagic.aws.backoff import Backoff
from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.aws.follow import LiveJobWatcher, follow_logs
from batchmagic.aws.job import BatchJob, JobStatus
from batchmagic.aws.logs import LogLine, LogPoller
from batchmagic.emulator import run_emulator
from batchmagic.emulator.livetail import REFUSE_ENV
from tests.helpers import container, make_queue, unique

PY = sys.executable
ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
# A stream's first lines may come from a read made when it appears; "middle" is printed seconds
# after that, and seconds before the job stops: only the polls can bring it while the job runs
# (the final drain brings it after the job stopped).
MAIN = ("import time\ntime.sleep(1)\nprint('early', flush=True)\ntime.sleep(3)\n"
        "print('middle', flush=True)\ntime.sleep(3)\nprint('late', flush=True)\n")


@pytest.fixture(params=["AccessDeniedException", "LimitExceededException"])
def refusing(request: pytest.FixtureRequest,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AwsClients, str]]:
    monkeypatch.setenv(REFUSE_ENV, request.param)
    with run_emulator() as url:
        yield AwsClients(AwsTarget(endpoint_url=url, emulator=True)), request.param


def test_refused_live_tail_falls_back_to_polling_while_the_job_runs(
    refusing: tuple[AwsClients, str]
) -> None:
    clients, code = refusing
    queue = make_queue(clients.batch)
    definition = unique("jd")
    clients.batch.register_job_definition(
        jobDefinitionName=definition, type="container", platformCapabilities=["FARGATE"],
        ecsProperties={"taskProperties": [{"executionRoleArn": ROLE, "containers": [
            container("main", [PY, "-c", MAIN])]}]})
    job = BatchJob(clients, clients.batch.submit_job(
        jobName=unique("job"), jobQueue=queue, jobDefinition=definition)["jobId"])
    arrived: dict[str, float] = {}  # epoch seconds
    lines: list[str] = []

    def on_lines(name: str, batch: list[LogLine]) -> None:
        for line in batch:
            lines.append(line.message)
            arrived.setdefault(line.message, time.time())

    attempts: list[str] = []
    clients.logs_streaming.meta.events.register(
        "before-call.cloudwatch-logs.StartLiveTail", lambda **_: attempts.append("session"))
    poller = LogPoller(clients, rate=50, burst=10, pacing=Backoff(first=0.05, most=0.3),
                       budget_per_minute=600)
    try:
        watcher = LiveJobWatcher(job, poller, on_lines)
        # Status polls at most 0.5 s apart: the stream is known long before "early".
        final = follow_logs(job, watcher, timeout=90, pacing=Backoff(first=0.1, most=0.5))
    finally:
        poller.close()
    assert final.status is JobStatus.SUCCEEDED
    refused = watcher.live.failed
    assert isinstance(refused, ClientError), refused
    assert refused.response["Error"]["Code"] == code
    assert lines == ["early", "middle", "late"]  # once each, in order
    # No permission is for good; over the session quota, one more session is tried first.
    assert len(attempts) == (1 if code == "AccessDeniedException" else 2), attempts
    assert final.stopped_at is not None
    # Live: "middle" came through the polls seconds before the job stopped, not at the drain.
    stopped = final.stopped_at.timestamp()
    assert arrived["middle"] < stopped - 1, (arrived, stopped)

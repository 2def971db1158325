"""Jobs on the emulator's AWS Batch, followed through BatchJob, LiveJobWatcher and follow_logs."""

from __future__ import annotations

import _thread
import itertools
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from batchmagic.aws.backoff import Backoff
from batchmagic.aws.clients import AwsClients
from batchmagic.aws.follow import LiveJobWatcher, follow_logs
from batchmagic.aws.job import (
    DESCRIBE_BACKOFF,
    BatchJob,
    ContainerState,
    JobSnapshot,
    JobStatus,
)
from batchmagic.aws.logs import DEFAULT_BUDGET_PER_MINUTE, LogLine, LogPoller, Tail, drain_tails
from batchmagic.errors import AwsError
from batchmagic.settings import LOG_GROUP
from tests.helpers import EXECUTION_ROLE, make_queue

PY = sys.executable
ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def queue(target: Any) -> str:
    return make_queue(AwsClients(target).batch)


@pytest.fixture()
def poller(clients: AwsClients) -> Iterator[LogPoller]:
    poller = LogPoller(clients, rate=50, burst=10, pacing=Backoff(first=0.05, most=0.3),
                       budget_per_minute=600)
    yield poller
    poller.close()


def _container(name: str, code: str, vcpu: str = "0.25", memory: str = "512",
               **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "public.ecr.aws/docker/library/python:3.11-slim",
            "command": [PY, "-c", code],
            "resourceRequirements": [{"type": "VCPU", "value": vcpu},
                                     {"type": "MEMORY", "value": memory}], **extra}


def _submit(clients: AwsClients, queue: str, containers: list[dict[str, Any]]) -> BatchJob:
    definition = _unique("jd")
    clients.batch.register_job_definition(
        jobDefinitionName=definition, type="container", platformCapabilities=["FARGATE"],
        ecsProperties={"taskProperties": [{"executionRoleArn": ROLE, "containers": containers}]})
    job_id = clients.batch.submit_job(jobName=_unique("job"), jobQueue=queue,
                                      jobDefinition=definition)["jobId"]
    return BatchJob(clients, job_id)


class PollingWatcher:
    """follow_logs' watcher with polling tails only: every container's stream is tailed by the
    shared poller as soon as it appears, and drained once the container has exited."""

    def __init__(self, job: BatchJob, poller: LogPoller,
                 on_lines: Callable[[str, list[LogLine]], None]) -> None:
        self.job, self.poller, self.on_lines = job, poller, on_lines
        self.tails: dict[tuple[str, str], Tail] = {}

    def update(self, snapshot: JobSnapshot) -> None:
        for state in snapshot.containers:
            if not state.log_stream:
                continue
            key = (state.name, state.log_stream)
            if key not in self.tails:
                self.tails[key] = self.poller.tail(
                    LOG_GROUP, state.log_stream,
                    lambda lines, name=state.name: self.on_lines(name, lines),
                    budget=self.job.job_id)
            if state.exit_code is not None:
                self.tails[key].request_drain()

    def finish(self, timeout: float = 10.0) -> bool:
        drained = drain_tails(list(self.tails.values()), timeout)
        self.close()
        return drained

    def close(self) -> None:
        for tail in self.tails.values():
            tail.stop()


SAY = ("import sys, time\n"
       "for i in range({n}):\n    print('{name}', i, flush=True); time.sleep({pause})\n")


def test_three_container_job_streams_every_containers_lines(
    clients: AwsClients, queue: str, poller: LogPoller
) -> None:
    job = _submit(clients, queue, [
        _container("stage-in", SAY.format(n=2, name="in", pause=0), essential=False),
        _container("main", SAY.format(n=5, name="main", pause=0.4) + "sys.exit(3)",
                   "0.5", "1024", essential=False,
                   dependsOn=[{"containerName": "stage-in", "condition": "SUCCESS"}]),
        _container("stage-out", SAY.format(n=1, name="out", pause=0), essential=True,
                   dependsOn=[{"containerName": "main", "condition": "COMPLETE"}]),
    ])
    lines: dict[str, list[str]] = defaultdict(list)
    updates: list[JobSnapshot] = []

    def on_lines(container: str, batch: list[LogLine]) -> None:
        lines[container].extend(line.message for line in batch)

    # Polls at most 1 s apart: a stage-in that is slow to start (a busy machine) must not let
    # the interval grow past main's run.
    final = follow_logs(job, PollingWatcher(job, poller, on_lines), on_update=updates.append,
                        timeout=60, pacing=Backoff(first=0.25, most=1.0))
    assert final.status is JobStatus.SUCCEEDED  # only stage-out is essential
    assert dict(lines) == {"stage-in": ["in 0", "in 1"],
                           "main": [f"main {i}" for i in range(5)],
                           "stage-out": ["out 0"]}
    main = final.container("main")
    assert main is not None and main.exit_code == 3 and main.log_stream
    assert [c.name for c in final.containers] == ["stage-in", "main", "stage-out"]
    assert final.created_at and final.started_at and final.stopped_at
    assert final.started_at <= final.stopped_at
    # on_update saw the job move, one call per change, ending with the terminal snapshot. How
    # long RUNNING lasts against the poll's pace is timing (a loaded machine can start the first
    # container slowly, then run the three in under a second): the job is seen before its end.
    assert updates[-1] == final
    assert all(a != b for a, b in itertools.pairwise(updates))
    assert not updates[0].status.is_terminal
    assert job.describe_calls < 40


def test_single_container_job_is_named_default(clients: AwsClients, queue: str) -> None:
    definition = _unique("jd")
    clients.batch.register_job_definition(
        jobDefinitionName=definition, type="container", platformCapabilities=["FARGATE"],
        containerProperties={"image": "python:3.11", "command": [PY, "-c", "print('hi')"],
                             "executionRoleArn": EXECUTION_ROLE,
                             "resourceRequirements": [{"type": "VCPU", "value": "0.25"},
                                                      {"type": "MEMORY", "value": "512"}]})
    job_id = clients.batch.submit_job(jobName=_unique("one"), jobQueue=queue,
                                      jobDefinition=definition)["jobId"]
    final = BatchJob(clients, job_id).wait(timeout=30)
    assert final.status is JobStatus.SUCCEEDED
    assert [c.name for c in final.containers] == ["default"]
    assert final.container("default") == ContainerState("default", 0, None,
                                                         final.containers[0].log_stream)


def test_terminate_and_wait_stops_a_running_job(clients: AwsClients, queue: str) -> None:
    job = _submit(clients, queue, [_container("main", "import time; time.sleep(60)")])
    deadline = time.monotonic() + 10
    while job.describe().status is not JobStatus.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    job.terminate("stopped by the test")
    final = job.wait(timeout=30)
    assert final.status is JobStatus.FAILED
    assert time.monotonic() - started < 10
    assert "stopped by the test" in (final.status_reason or "")


def test_wait_timeout_and_stop(clients: AwsClients, queue: str) -> None:
    job = _submit(clients, queue, [_container("main", "import time; time.sleep(60)")])
    try:
        with pytest.raises(TimeoutError, match=job.job_id):
            job.wait(timeout=0.5)
        stop = threading.Event()
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        snapshot = job.wait(stop=stop)
        assert snapshot.status.is_active and time.monotonic() - started < 2
    finally:
        job.terminate("cleanup")
        job.wait(timeout=60)


def test_wait_is_interruptible(clients: AwsClients, queue: str) -> None:
    # The interrupt is sent once wait() has its first snapshot, so it lands in the sleep between
    # two polls; that sleep is 30 s long. A wait that slept its interval whole would raise only
    # after it; how long the first DescribeJobs takes on a busy machine does not matter.
    job = _submit(clients, queue, [_container("main", "import time; time.sleep(120)")])
    sent: list[float] = []
    timers: list[threading.Timer] = []

    def interrupt() -> None:
        sent.append(time.monotonic())
        _thread.interrupt_main()

    def interrupt_once(snapshot: JobSnapshot) -> None:
        if not timers and not snapshot.status.is_terminal:
            timers.append(threading.Timer(0.2, interrupt))
            timers[0].start()

    try:
        with pytest.raises(KeyboardInterrupt):
            ended = job.wait(on_update=interrupt_once, pacing=Backoff(first=30, most=30))
            pytest.fail(f"the job ended before the interrupt: {ended.status} {ended.status_reason}")
        assert sent, "the interrupt never came"
        assert time.monotonic() - sent[0] < 15, "wait() slept through its polling interval"
    finally:
        job.terminate("cleanup")
        job.wait(timeout=60)


def test_unknown_job_is_a_clear_error(clients: AwsClients) -> None:
    with pytest.raises(AwsError, match="not found"):
        BatchJob(clients, "00000000-0000-0000-0000-000000000000").describe()


# --- pure ---------------------------------------------------------------------------------------


def test_snapshot_from_description() -> None:
    desc = {
        "jobId": "j1", "jobName": "n", "status": "RUNNING", "statusReason": "",
        "createdAt": 1_795_000_000_000, "startedAt": 1_795_000_001_500,
        "ecsProperties": {"taskProperties": [{"containers": [
            {"name": "stage-in", "exitCode": 0, "logStreamName": "a/stage-in/t"},
            {"name": "main", "logStreamName": "a/main/t"},
            {"name": "stage-out"},
        ]}]},
    }
    snap = JobSnapshot.from_description(desc)
    assert snap.status is JobStatus.RUNNING and snap.status_reason is None
    assert snap.started_at is not None and snap.started_at.timestamp() == 1_795_000_001.5
    assert snap.stopped_at is None
    assert snap.container("main") == ContainerState("main", None, None, "a/main/t")
    assert snap.container("stage-out") == ContainerState("stage-out", None, None, None)
    assert snap.container("nope") is None
    assert snap.raw is desc
    assert snap == JobSnapshot.from_description(dict(desc))


def test_status_properties() -> None:
    assert [s for s in JobStatus if s.is_terminal] == [JobStatus.SUCCEEDED, JobStatus.FAILED]
    assert JobStatus.RUNNABLE.is_active and not JobStatus.FAILED.is_active
    assert JobStatus.STARTING.has_started and not JobStatus.RUNNABLE.has_started
    assert JobStatus("RUNNING") == "RUNNING"


def test_describe_pacing_fits_the_call_budget() -> None:
    """A long job, no changes: DescribeJobs calls in the first minute and then per minute."""
    pacing, interval, clock, calls = DESCRIBE_BACKOFF, DESCRIBE_BACKOFF.first, 0.0, []
    while clock < 600:
        calls.append(clock)
        clock += interval
        interval = pacing.after(interval, progressed=False)
    first_minute = sum(1 for c in calls if c < 60)
    later = sum(1 for c in calls if 300 <= c < 360)
    assert first_minute <= 25 and later <= 12
    # With the log poller's default per-job budget (8/min), a long job stays within 20/min.
    assert later + DEFAULT_BUDGET_PER_MINUTE <= 20


def _three_containers(main_code: str) -> list[dict[str, Any]]:
    return [
        _container("stage-in", SAY.format(n=2, name="in", pause=0), essential=False),
        _container("main", main_code, "0.5", "1024", essential=False,
                   dependsOn=[{"containerName": "stage-in", "condition": "SUCCESS"}]),
        _container("stage-out", SAY.format(n=1, name="out", pause=0), essential=True,
                   dependsOn=[{"containerName": "main", "condition": "COMPLETE"}]),
    ]


def test_live_tails_deliver_lines_while_the_job_runs_each_once(
    clients: AwsClients, queue: str, poller: LogPoller, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    main_code = (SAY.format(n=3, name="main", pause=0) + "import os\n"
                 f"while not os.path.exists({str(release)!r}): time.sleep(0.02)\n"
                 + SAY.format(n=2, name="after", pause=0))
    job = _submit(clients, queue, _three_containers(main_code))
    lines: dict[str, list[str]] = defaultdict(list)

    def on_lines(container: str, batch: list[LogLine]) -> None:
        lines[container].extend(line.message for line in batch)
        if lines["main"][:3] == ["main 0", "main 1", "main 2"]:
            release.touch()  # only once the running job's lines have come through

    watcher = LiveJobWatcher(job, poller, on_lines)
    final = follow_logs(job, watcher, timeout=60)
    assert final.status is JobStatus.SUCCEEDED
    assert watcher.live.failed is None, watcher.live.failed
    assert dict(lines) == {"stage-in": ["in 0", "in 1"],
                           "main": ["main 0", "main 1", "main 2", "after 0", "after 1"],
                           "stage-out": ["out 0"]}


def test_one_live_tail_session_follows_every_container_of_a_job(
    clients: AwsClients, queue: str, poller: LogPoller
) -> None:
    """The streams of main and stage-out are derived from stage-in's as soon as it is reported:
    one StartLiveTail for the job; when it opens, the reported streams are read in one
    FilterLogEvents and the others with GetLogEvents (one ResourceNotFoundException for a
    stream not created yet); none while it runs; one FilterLogEvents at the end."""
    job = _submit(clients, queue, _three_containers(SAY.format(n=4, name="main", pause=0.3)))
    calls: list[str] = []
    for client in (clients.logs, clients.logs_streaming):
        client.meta.events.register("before-call.cloudwatch-logs",
                                    lambda model, **_: calls.append(model.name))
    lines: dict[str, list[str]] = defaultdict(list)

    def on_lines(container: str, batch: list[LogLine]) -> None:
        lines[container].extend(line.message for line in batch)

    watcher = LiveJobWatcher(job, poller, on_lines)
    final = follow_logs(job, watcher, timeout=60)
    assert final.status is JobStatus.SUCCEEDED
    assert watcher.live.failed is None, watcher.live.failed
    assert dict(lines) == {"stage-in": ["in 0", "in 1"],
                           "main": [f"main {i}" for i in range(4)],
                           "stage-out": ["out 0"]}
    assert calls.count("StartLiveTail") == 1, calls
    assert 1 <= calls.count("FilterLogEvents") <= 2, calls
    assert calls.count("GetLogEvents") <= 4, calls  # at most a page and its end, per stream


def test_polling_takes_over_when_live_tails_fail(
    clients: AwsClients, queue: str, poller: LogPoller
) -> None:
    # main runs for 3 s: long enough for a second session, which a closed port does not get.
    job = _submit(clients, queue, _three_containers(SAY.format(n=4, name="main", pause=0.75)))
    lines: dict[str, list[str]] = defaultdict(list)

    def on_lines(container: str, batch: list[LogLine]) -> None:
        lines[container].extend(line.message for line in batch)

    # Sessions go to a port where nothing listens (as when a proxy blocks streaming calls);
    # every other call still reaches the emulator.
    blocked = clients.session.client(
        "logs", endpoint_url="http://127.0.0.1:9",
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}, connect_timeout=2))
    attempts: list[str] = []
    blocked.meta.events.register("before-call.cloudwatch-logs.StartLiveTail",
                                 lambda **_: attempts.append("session"))
    watcher = LiveJobWatcher(job, poller, on_lines, streaming_client=blocked)
    final = follow_logs(job, watcher, timeout=60)
    assert final.status is JobStatus.SUCCEEDED
    assert isinstance(watcher.live.failed, EndpointConnectionError)
    assert attempts == ["session"]  # no answer at all: polling at once, no second session
    assert dict(lines) == {"stage-in": ["in 0", "in 1"],
                           "main": [f"main {i}" for i in range(4)],
                           "stage-out": ["out 0"]}

"""A submitted AWS Batch job: its status and containers, waiting, terminating, following its logs.

DescribeJobs is the only source of truth. Its shapes are read in one place
(:meth:`JobSnapshot.from_description`) so the rest of batchmagic sees statuses, containers, exit
codes and log streams, not response dictionaries.

AWS facts this module relies on:

- A multi-container job reports its containers under ``ecsProperties.taskProperties[0]
  .containers``; a single-container job under ``container``.
- Only essential containers decide the job's status: batchmagic's job can be SUCCEEDED while
  ``main`` failed, so callers must read ``main``'s own ``exitCode``/``reason``.
- A container's ``logStreamName`` appears once it has started, possibly while the job still says
  STARTING (others may wait on ``dependsOn``): logs are followed per container, not per status.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from batchmagic.aws.backoff import AgePacing, Backoff, Pacing
from batchmagic.aws.clients import AwsClients
from batchmagic.aws.describer import JobDescriber
from batchmagic.aws.errors import aws_errors
from batchmagic.errors import AwsError


class JobStatus(str, Enum):
    """AWS Batch job statuses, in the order a job goes through them."""

    SUBMITTED = "SUBMITTED"
    PENDING = "PENDING"
    RUNNABLE = "RUNNABLE"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        """The job has ended (it will not change again)."""
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    @property
    def is_active(self) -> bool:
        """The job has not ended yet: queued, starting or running."""
        return not self.is_terminal

    @property
    def has_started(self) -> bool:
        """Compute was placed: containers may be running (or have run)."""
        return self in (JobStatus.STARTING, JobStatus.RUNNING) or self.is_terminal


TERMINAL_STATUSES = frozenset(s.value for s in JobStatus if s.is_terminal)
"""The statuses of a job that has ended, as DescribeJobs spells them."""


@dataclass(frozen=True)
class ContainerState:
    """One container of the job as DescribeJobs reports it."""

    name: str
    exit_code: int | None
    reason: str | None
    log_stream: str | None


def _time(value: Any) -> datetime | None:
    # Batch reports times as epoch milliseconds (plain integers, not timestamps).
    if value is None:
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)


def _container(name: str, raw: dict[str, Any]) -> ContainerState:
    code = raw.get("exitCode")
    return ContainerState(name=name, exit_code=None if code is None else int(code),
                          reason=raw.get("reason") or None,
                          log_stream=raw.get("logStreamName") or None)


@dataclass(frozen=True)
class JobSnapshot:
    """A job at one DescribeJobs. Equal snapshots (``raw`` aside) mean nothing changed."""

    job_id: str
    job_name: str
    status: JobStatus
    status_reason: str | None
    created_at: datetime | None
    started_at: datetime | None
    stopped_at: datetime | None
    containers: tuple[ContainerState, ...]
    raw: dict[str, Any] = field(compare=False, repr=False)

    @classmethod
    def from_description(cls, desc: dict[str, Any]) -> JobSnapshot:
        """Read one element of DescribeJobs' ``jobs``."""
        tasks = (desc.get("ecsProperties") or {}).get("taskProperties") or []
        if tasks:
            containers = tuple(_container(str(c.get("name", f"container-{i}")), c)
                               for i, c in enumerate(tasks[0].get("containers") or []))
        elif desc.get("container"):
            containers = (_container("default", desc["container"]),)
        else:
            containers = ()
        return cls(
            job_id=str(desc["jobId"]),
            job_name=str(desc.get("jobName", "")),
            status=JobStatus(desc["status"]),
            status_reason=desc.get("statusReason") or None,
            created_at=_time(desc.get("createdAt")),
            started_at=_time(desc.get("startedAt")),
            stopped_at=_time(desc.get("stoppedAt")),
            containers=containers,
            raw=desc,
        )

    def container(self, name: str) -> ContainerState | None:
        """The container called ``name`` (``"default"`` for a single-container job), if any."""
        return next((c for c in self.containers if c.name == name), None)


DESCRIBE_BACKOFF = Backoff(first=0.25, most=5.0, factor=1.5)
"""DescribeJobs pacing: 0.25 s apart at first (the emulator finishes small jobs in under a
second), slowing to 5 s (AWS jobs take minutes): at 5 s, a long job costs 12 DescribeJobs per
minute. A change of the job brings the pace back to the first interval."""


def _sleep(seconds: float, stop: threading.Event | None,
           wake: threading.Event | None = None) -> bool:
    """Sleep in short steps (a KeyboardInterrupt stays prompt) until ``seconds`` pass or
    ``wake`` is set; True if ``stop`` was set."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if wake is not None and wake.is_set():
            break
        if stop is not None:
            if stop.wait(min(left, 0.1)):
                return True
        else:
            time.sleep(min(left, 0.1))
    return stop is not None and stop.is_set()


class BatchJob:
    """A submitted job, by id. ``last`` is the latest snapshot seen."""

    def __init__(self, clients: AwsClients, job_id: str) -> None:
        self.clients = clients
        self.job_id = job_id
        self.last: JobSnapshot | None = None
        self.describe_calls = 0

    def __repr__(self) -> str:
        status = self.last.status.value if self.last else "unknown"
        return f"BatchJob({self.job_id}, {status})"

    def describe(self) -> JobSnapshot:
        """DescribeJobs now (shared with the kernel's other jobs: see aws/describer.py)."""
        self.describe_calls += 1
        with aws_errors(f"DescribeJobs {self.job_id}"):
            found = JobDescriber.of(self.clients).describe(self.job_id)
        jobs = [found] if found is not None else []
        if not jobs:
            raise AwsError(
                f"DescribeJobs: job {self.job_id} not found on {self.clients.target.describe()} "
                "(AWS forgets finished jobs after about 7 days)",
                code="JobNotFound", operation="DescribeJobs",
            )
        self.last = JobSnapshot.from_description(jobs[0])
        return self.last

    def terminate(self, reason: str) -> None:
        """TerminateJob: cancels a queued job, stops a running one (the job then ends FAILED)."""
        with aws_errors(f"TerminateJob {self.job_id}"):
            self.clients.batch.terminate_job(jobId=self.job_id, reason=reason)

    def wait(
        self,
        *,
        on_update: Callable[[JobSnapshot], None] | None = None,
        poll: float | None = None,
        timeout: float | None = None,
        pacing: Pacing = DESCRIBE_BACKOFF,
        stop: threading.Event | None = None,
        wake: threading.Event | None = None,
    ) -> JobSnapshot:
        """Poll until the job is terminal and return its last snapshot.

        ``on_update`` gets the first snapshot and every one that differs from the previous
        (status, reason, times, any container field). ``poll`` overrides the first interval.
        ``timeout`` raises TimeoutError; setting ``stop`` returns the latest snapshot early.
        ``pacing`` is a :class:`Backoff` (back to its first interval when the job changed) or an
        :class:`AgePacing` (by the time since this wait began, whatever changed; the first
        ask after the first interval).
        Setting ``wake`` (e.g. the main container said it is done) polls after the first
        interval and at the first pace again (an age pacing counts from the wake).
        Transient AWS errors (throttling, 5xx, connection) are retried with the backoff: each
        call has already made botocore's 8 attempts, but a job followed for hours should outlast
        a minute of throttling or a dropped network, so up to 5 failures in a row are waited out.
        """
        if poll is not None:
            pacing = replace(pacing, first=poll)
        since = time.monotonic()
        deadline = None if timeout is None else since + timeout
        interval, failures = pacing.first, 0
        previous: JobSnapshot | None = None
        if isinstance(pacing, AgePacing):
            # Paced by age, the first ask comes after the first interval: a job asked for at
            # once has just been submitted (SubmitJob said what it is: SUBMITTED).
            _sleep(pacing.first, stop)
        while True:
            snapshot: JobSnapshot | None
            try:
                snapshot = self.describe()
                failures = 0
            except AwsError as error:
                failures += 1
                if not error.transient or failures > 5:
                    raise
                snapshot = previous
            changed = snapshot is not None and snapshot != previous
            if changed and snapshot is not None:
                previous = snapshot
                if on_update is not None:
                    on_update(snapshot)
            if snapshot is not None and snapshot.status.is_terminal:
                return snapshot
            if isinstance(pacing, AgePacing):
                interval = pacing.interval(time.monotonic() - since)
            else:
                interval = pacing.after(interval, progressed=changed)
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    status = snapshot.status.value if snapshot else "unknown"
                    raise TimeoutError(f"job {self.job_id} still {status} after {timeout} s")
                interval = min(interval, left)
            if _sleep(interval, stop, wake) and snapshot is not None:
                return snapshot
            if wake is not None and wake.is_set():
                # The job is about to end (its last container starts): ask in a moment (not at
                # once: it is still running), then at the first pace again.
                wake.clear()
                since, interval = time.monotonic(), pacing.first
                if _sleep(pacing.first, stop) and snapshot is not None:
                    return snapshot

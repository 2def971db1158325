"""In-memory AWS Batch resources, and their DescribeX shapes (botocore's Batch service model)."""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batchmagic.emulator.logsink import ACCOUNT_ID

# Batch's statuses, kept apart from batchmagic.aws.job.JobStatus on purpose (the emulator imports
# nothing of the client side); tests/test_copies.py checks that they agree.
TERMINAL = ("SUCCEEDED", "FAILED")
STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")


def now_ms() -> int:
    return int(time.time() * 1000)


def arn(region: str, kind: str, name: str) -> str:
    return f"arn:aws:batch:{region}:{ACCOUNT_ID}:{kind}/{name}"


@dataclass
class Resource:
    """A named Batch resource: its describe shape (``detail``) and its tags."""

    name: str
    arn: str
    detail: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {**copy.deepcopy(self.detail), "tags": dict(self.tags)}


class ComputeEnvironment(Resource):
    """A compute environment: only its state matters here, jobs run on this host."""


class JobQueue(Resource):
    """A job queue."""


@dataclass
class JobDefinition(Resource):
    """One revision of a job definition."""

    revision: int = 1


@dataclass
class ContainerSpec:
    """One container of a job, after overrides and parameter substitution."""

    name: str  # "default" for single-container jobs (as in their log stream names)
    detail: dict[str, Any]  # the TaskContainerDetails / ContainerDetail shape, minus runtime
    essential: bool = True
    depends_on: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ContainerRun:
    """A container of the current attempt: pending, running or stopped."""

    spec: ContainerSpec
    state: str = "PENDING"  # PENDING -> RUNNING -> STOPPED
    pid: int | None = None
    exit_code: int | None = None
    reason: str | None = None
    log_stream: str | None = None

    def runtime(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.exit_code is not None:
            out["exitCode"] = self.exit_code
        if self.reason:
            out["reason"] = self.reason[:255]
        if self.log_stream:
            out["logStreamName"] = self.log_stream
        return out


@dataclass
class Job:
    """A submitted job (or one child of an array job)."""

    job_id: str
    name: str
    region: str
    queue: JobQueue
    definition: JobDefinition
    multi_container: bool
    specs: list[ContainerSpec]
    task: dict[str, Any]  # EcsTaskDetails (minus containers) or ContainerDetail extras
    request: dict[str, Any]  # SubmitJob fields echoed by DescribeJobs
    retry_attempts: int = 1
    timeout_s: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    status: str = "SUBMITTED"
    status_reason: str | None = None
    created_at: int = field(default_factory=now_ms)
    started_at: int | None = None
    stopped_at: int | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    runs: list[ContainerRun] = field(default_factory=list)
    task_arn: str | None = None
    array_size: int | None = None
    array_index: int | None = None
    children: list[Job] = field(default_factory=list)
    parent: Job | None = None
    launch_failure: str | None = None  # accepted by SubmitJob, FAILED when it would start
    stop_reason: str | None = None  # set by TerminateJob / CancelJob / timeout
    is_cancelled: bool = False
    is_terminated: bool = False
    stop_event: threading.Event = field(default_factory=threading.Event)
    on_release: Callable[[], None] | None = None  # frees its compute environment capacity

    @property
    def arn(self) -> str:
        return arn(self.region, "job", self.job_id)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"jobArn": self.arn, "jobId": self.job_id, "jobName": self.name,
                               "createdAt": self.created_at, "status": self.status,
                               "jobDefinition": self.definition.arn}
        for key, value in (("statusReason", self.status_reason), ("startedAt", self.started_at),
                           ("stoppedAt", self.stopped_at)):
            if value is not None:
                out[key] = value
        if self.array_size is not None:
            out["arrayProperties"] = {"size": self.array_size}
        elif self.array_index is not None:
            out["arrayProperties"] = {"index": self.array_index}
        if not self.multi_container and self.runs and self.runs[0].exit_code is not None:
            out["container"] = {k: v for k, v in self.runs[0].runtime().items()
                                if k in ("exitCode", "reason")}
        if self.is_cancelled:
            out["isCancelled"] = True
        if self.is_terminated:
            out["isTerminated"] = True
        return out

    def describe(self) -> dict[str, Any]:
        out = self.summary()
        out.pop("container", None)
        out.update({"jobQueue": self.queue.arn, "attempts": copy.deepcopy(self.attempts),
                    "tags": dict(self.tags), "dependsOn": [],
                    "platformCapabilities": list(
                        self.definition.detail.get("platformCapabilities", ["EC2"])),
                    "parameters": dict(self.request.get("parameters") or {})})
        for key in ("retryStrategy", "timeout", "propagateTags"):
            if key in self.request:
                out[key] = copy.deepcopy(self.request[key])
        if self.array_size is not None:
            out["arrayProperties"] = self.array_status()
        runs = self.runs or [ContainerRun(spec) for spec in self.specs]
        if self.multi_container:
            task = {**copy.deepcopy(self.task),
                    "containers": [{**copy.deepcopy(r.spec.detail), **r.runtime()} for r in runs]}
            if self.task_arn:
                task["taskArn"] = self.task_arn
            out["ecsProperties"] = {"taskProperties": [task]}
        else:
            container = {**copy.deepcopy(self.task), **copy.deepcopy(runs[0].spec.detail),
                         **runs[0].runtime()}
            if self.task_arn:
                container["taskArn"] = self.task_arn
            out["container"] = container
        return out

    def array_status(self) -> dict[str, Any]:
        summary = dict.fromkeys(STATUSES, 0)
        for child in self.children:
            summary[child.status] += 1
        return {"size": self.array_size or 0, "statusSummary": summary,
                "statusSummaryLastUpdatedAt": now_ms()}

    def attempt_record(self, started_at: int, reason: str) -> dict[str, Any]:
        """The attempts[] entry for the attempt whose containers are in ``runs``."""
        record: dict[str, Any] = {"startedAt": started_at, "stoppedAt": now_ms(),
                                  "statusReason": reason}
        if self.multi_container:
            record["taskProperties"] = [{
                "taskArn": self.task_arn,
                "containers": [{"name": r.spec.name, **r.runtime()} for r in self.runs]}]
        else:
            record["container"] = {"taskArn": self.task_arn, **self.runs[0].runtime()}
        return record


def new_task_id() -> str:
    """ECS task ids are 32 hex digits."""
    return uuid.uuid4().hex

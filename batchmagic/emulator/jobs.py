"""Job operations: SubmitJob, DescribeJobs, ListJobs, TerminateJob, CancelJob."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from batchmagic.emulator.capacity import Capacity
from batchmagic.emulator.errors import BatchError
from batchmagic.emulator.jobspec import Overrides, build_specs
from batchmagic.emulator.models import TERMINAL, Job
from batchmagic.emulator.resources import Resources
from batchmagic.emulator.runner import JobRunner, Placement
from batchmagic.emulator.validation import (
    check_array_size,
    check_attempts,
    check_describe_count,
    check_job_name,
    check_tags,
    check_timeout,
    is_fargate_environment,
    overrides_failure,
    propagated_tags_failure,
)

_NOT_STARTED = ("SUBMITTED", "PENDING", "RUNNABLE")
# A job whose platform no environment of its queue offers is not refused: it stays RUNNABLE
# with the reason botocore's model (JobDetail.statusReason) gives for unplaceable jobs.
PLATFORM_MISMATCH = ("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - All compute environments "
                     "have no connected instances that meet the job requirements.")


def _int_member(structure: dict[str, Any] | None, member: str) -> int | None:
    value = (structure or {}).get(member)
    return int(value) if value is not None else None


class Jobs(Resources):
    """Adds jobs to the resources; a JobRunner (set by start()) runs them."""

    runner: JobRunner
    min_timeout_s = 60  # AWS: attemptDurationSeconds >= 60 (the client checks it too: test_copies)

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, Job] = {}
        self.order: list[Job] = []
        self.capacity = Capacity(self.lock)

    def queue_ready(self, job: Job) -> Placement | str | None:
        """Where a job can run now; None while its queue is not usable; a statusReason when
        no environment of the queue offers the job's platform (it then stays RUNNABLE)."""
        with self.lock:
            detail = job.queue.detail
            if detail["status"] != "VALID" or detail["state"] != "ENABLED":
                return None
            wants_fargate = "FARGATE" in job.definition.detail.get("platformCapabilities", [])
            usable, mismatch = [], False
            for item in sorted(detail["computeEnvironmentOrder"], key=lambda o: o["order"]):
                env = self.find_environment(item["computeEnvironment"])
                if env is None:
                    continue
                if is_fargate_environment(env.detail) != wants_fargate:
                    mismatch = True
                    continue
                if env.detail["status"] == "VALID" and env.detail["state"] == "ENABLED":
                    usable.append(env)
            if usable:
                placed = self.capacity.place(job, usable)
                return Placement(placed) if placed is not None else None
            return PLATFORM_MISMATCH if mismatch else None

    def _job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise BatchError(f"Job {job_id} not found.")
        return job

    def submit_job(
            self, *, region: str, job_name: str, job_queue: str, job_definition: str,
            parameters: dict[str, str] | None = None,
            container_overrides: dict[str, Any] | None = None,
            ecs_properties_override: dict[str, Any] | None = None,
            array_properties: dict[str, Any] | None = None,
            retry_strategy: dict[str, Any] | None = None, propagate_tags: bool | None = None,
            timeout: dict[str, Any] | None = None,
            tags: dict[str, str] | None = None) -> dict[str, Any]:
        name = check_job_name(job_name)
        job_tags = check_tags(tags)
        with self.lock:
            queue = self.find_queue(job_queue)
            if queue is None:
                raise BatchError(f"JobQueue {job_queue} not found.")
            if queue.detail["state"] != "ENABLED":
                raise BatchError(f"JobQueue {queue.name} is not in ENABLED state.")
            definition = self.find_definition(job_definition)
        overrides = Overrides(parameters or {}, container_overrides, ecs_properties_override)
        built = build_specs(definition, overrides)
        defaults = definition.detail
        retry = retry_strategy if retry_strategy is not None else defaults.get("retryStrategy")
        limit = timeout if timeout is not None else defaults.get("timeout")
        propagate = bool(propagate_tags if propagate_tags is not None
                         else defaults.get("propagateTags"))
        timeout_s = _int_member(limit, "attemptDurationSeconds")
        check_timeout(timeout_s, self.min_timeout_s)
        attempts = _int_member(retry, "attempts") or 1
        check_attempts(attempts)
        size = _int_member(array_properties, "size")
        check_array_size(size)
        echo: dict[str, Any] = {"parameters": {**(defaults.get("parameters") or {}),
                                               **(parameters or {})}}
        for key, value in (("retryStrategy", retry), ("timeout", limit),
                           ("propagateTags", propagate_tags if propagate_tags is not None
                            else defaults.get("propagateTags"))):
            if value is not None:
                echo[key] = value
        # Accepted by SubmitJob, but the job FAILS once Batch tries to start it.
        failure = (overrides_failure(built.override_containers)
                   or propagated_tags_failure(job_tags, definition.tags, propagate))
        job = Job(job_id=str(uuid.uuid4()), name=name, region=region, queue=queue,
                  definition=definition, multi_container=built.multi_container,
                  specs=built.specs, task=built.task, request=echo, retry_attempts=attempts,
                  timeout_s=timeout_s, tags=job_tags, array_size=size, launch_failure=failure)
        if size is not None:
            for index in range(size):
                child_built = build_specs(definition, overrides)
                job.children.append(Job(
                    job_id=f"{job.job_id}:{index}", name=name, region=job.region, queue=queue,
                    definition=definition, multi_container=child_built.multi_container,
                    specs=child_built.specs, task=child_built.task, request=echo,
                    retry_attempts=attempts, timeout_s=timeout_s, tags=dict(job.tags),
                    array_index=index, parent=job, launch_failure=failure))
        with self.lock:
            for item in [job, *job.children]:
                self.jobs[item.job_id] = item
            self.order.append(job)
        self.runner.submit(job)
        return {"jobArn": job.arn, "jobName": name, "jobId": job.job_id}

    def describe_jobs(self, *, region: str, jobs: list[str]) -> dict[str, Any]:
        del region
        check_describe_count(len(jobs))
        with self.lock:
            found = [self.jobs[i.rsplit("/", 1)[-1]] for i in jobs
                     if i.rsplit("/", 1)[-1] in self.jobs]
            return {"jobs": [job.describe() for job in found]}

    def list_jobs(self, *, region: str, job_queue: str | None = None,
                  array_job_id: str | None = None, job_status: str | None = None,
                  filters: list[dict[str, Any]] | None = None, max_results: int | None = None,
                  next_token: str | None = None) -> dict[str, Any]:
        del region
        with self.lock:
            if array_job_id:
                candidates = list(self._job(array_job_id).children)
            elif job_queue:
                queue = self.find_queue(job_queue)
                if queue is None:
                    raise BatchError(f"JobQueue {job_queue} not found.")
                candidates = [j for j in self.order if j.queue is queue]
            else:
                raise BatchError("Either jobQueue, arrayJobId or multiNodeJobId is required.")
            if filters:  # with filters AWS ignores jobStatus and lists every status
                for item in filters:
                    candidates = [j for j in candidates if _matches(j, item)]
                candidates.sort(key=lambda j: j.created_at, reverse=True)
            else:
                status = job_status or "RUNNING"
                candidates = [j for j in candidates if j.status == status]
            items = [j.summary() for j in candidates]
        start = _decode_token(next_token)
        size = int(max_results or 100)
        out: dict[str, Any] = {"jobSummaryList": items[start:start + size]}
        if start + size < len(items):
            out["nextToken"] = base64.b64encode(str(start + size).encode()).decode()
        return out

    def _stop(self, job: Job, reason: str, *, cancel: bool) -> None:
        if job.status in TERMINAL:
            return
        if cancel and job.array_size is None and job.status not in _NOT_STARTED:
            return  # CancelJob leaves STARTING/RUNNING jobs alone (TerminateJob stops them)
        job.stop_reason = reason
        job.is_cancelled = job.is_cancelled or cancel
        job.is_terminated = job.is_terminated or not cancel
        job.stop_event.set()
        for child in job.children:
            self._stop(child, reason, cancel=cancel)

    def terminate_job(self, *, region: str, job_id: str, reason: str) -> dict[str, Any]:
        del region
        with self.lock:
            self._stop(self._job(job_id), reason, cancel=False)
        return {}

    def cancel_job(self, *, region: str, job_id: str, reason: str) -> dict[str, Any]:
        del region
        with self.lock:
            self._stop(self._job(job_id), reason, cancel=True)
        return {}

    def tags_of(self, resource_arn: str) -> dict[str, str]:
        if ":job/" in resource_arn:
            return self._job(resource_arn.rsplit("/", 1)[-1]).tags
        return self.tagged(resource_arn)


def _decode_token(token: Any) -> int:
    if not token:
        return 0
    try:
        return int(base64.b64decode(str(token)).decode())
    except ValueError:
        raise BatchError("Invalid nextToken") from None


def _matches(job: Job, item: dict[str, Any]) -> bool:
    name, values = item.get("name"), item.get("values") or []
    if name == "JOB_NAME":
        return any(job.name.startswith(v[:-1]) if v.endswith("*") else job.name == v
                   for v in values)
    if name == "JOB_DEFINITION":
        return any(v in (job.definition.name, job.definition.arn,
                         f"{job.definition.name}:{job.definition.revision}") for v in values)
    if name == "BEFORE_CREATED_AT":
        return any(job.created_at < int(v) for v in values)
    if name == "AFTER_CREATED_AT":
        return any(job.created_at > int(v) for v in values)
    raise BatchError(f"Unknown ListJobs filter {name}.")

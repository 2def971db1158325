"""Job operations: SubmitJob, DescribeJobs, ListJobs, TerminateJob, CancelJob."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from batchmagic.emulator.capacity import Capacity
from batchmagic.emulator.errors import BatchError
from batchmagic.emulator.jobspec import build_specs
from batchmagic.emulator.models import TERMINAL, Job
from batchmagic.emulator.resources import Resources, _region
from batchmagic.emulator.runner import JobRunner
from batchmagic.emulator.validation import check_job_name

_NOT_STARTED = ("SUBMITTED", "PENDING", "RUNNABLE")


def _int_field(request: dict[str, Any], outer: str, inner: str) -> int | None:
    value = (request.get(outer) or {}).get(inner)
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

    def queue_ready(self, job: Job) -> str | None:
        """The CE name a job can run on now, or None while its queue is not usable."""
        with self.lock:
            detail = job.queue.detail
            if detail["status"] != "VALID" or detail["state"] != "ENABLED":
                return None
            usable = []
            for item in sorted(detail["computeEnvironmentOrder"], key=lambda o: o["order"]):
                env = self.find_environment(item["computeEnvironment"])
                if env and env.detail["status"] == "VALID" and env.detail["state"] == "ENABLED":
                    usable.append(env)
            return self.capacity.place(job, usable) if usable else None

    def _job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise BatchError(f"Job {job_id} not found.")
        return job

    def op_submitjob(self, request: dict[str, Any]) -> dict[str, Any]:
        name = check_job_name(request.get("jobName"))
        with self.lock:
            queue = self.find_queue(str(request.get("jobQueue", "")))
            if queue is None:
                raise BatchError(f"JobQueue {request.get('jobQueue')} not found.")
            if queue.detail["state"] != "ENABLED":
                raise BatchError(f"JobQueue {queue.name} is not in ENABLED state.")
            definition = self.find_definition(str(request.get("jobDefinition", "")))
        multi, specs, task = build_specs(definition, request)
        merged = {**definition.detail, **request}
        timeout = _int_field(merged, "timeout", "attemptDurationSeconds")
        if timeout is not None and timeout < self.min_timeout_s:
            raise BatchError(f"timeout.attemptDurationSeconds must be at least "
                             f"{self.min_timeout_s} seconds.")
        attempts = _int_field(merged, "retryStrategy", "attempts") or 1
        if not 1 <= attempts <= 10:
            raise BatchError("retryStrategy.attempts must be between 1 and 10.")
        size = _int_field(request, "arrayProperties", "size")
        if size is not None and not 2 <= size <= 10000:
            raise BatchError("Array job size must be between 2 and 10,000.")
        echo: dict[str, Any] = {k: merged[k] for k in ("retryStrategy", "timeout", "propagateTags",
                                       "parameters") if k in merged}
        job = Job(job_id=str(uuid.uuid4()), name=name, region=_region(request), queue=queue,
                  definition=definition, multi_container=multi, specs=specs, task=task,
                  request=echo, retry_attempts=attempts, timeout_s=timeout,
                  tags=dict(request.get("tags") or {}), array_size=size)
        if size is not None:
            for index in range(size):
                _, child_specs, child_task = build_specs(definition, request)
                child = Job(job_id=f"{job.job_id}:{index}", name=name, region=job.region,
                            queue=queue, definition=definition, multi_container=multi,
                            specs=child_specs, task=child_task, request=echo,
                            retry_attempts=attempts, timeout_s=timeout, tags=dict(job.tags),
                            array_index=index, parent=job)
                job.children.append(child)
        with self.lock:
            for item in [job, *job.children]:
                self.jobs[item.job_id] = item
            self.order.append(job)
        self.runner.submit(job)
        return {"jobArn": job.arn, "jobName": name, "jobId": job.job_id}

    def op_describejobs(self, request: dict[str, Any]) -> dict[str, Any]:
        ids = request.get("jobs") or []
        if len(ids) > 100:
            raise BatchError("A maximum of 100 job IDs can be described at once.")
        with self.lock:
            found = [self.jobs[i.rsplit("/", 1)[-1]] for i in ids
                     if i.rsplit("/", 1)[-1] in self.jobs]
            return {"jobs": [job.describe() for job in found]}

    def op_listjobs(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if request.get("arrayJobId"):
                candidates = list(self._job(request["arrayJobId"]).children)
            elif request.get("jobQueue"):
                queue = self.find_queue(request["jobQueue"])
                if queue is None:
                    raise BatchError(f"JobQueue {request['jobQueue']} not found.")
                candidates = [j for j in self.order if j.queue is queue]
            else:
                raise BatchError("Either jobQueue, arrayJobId or multiNodeJobId is required.")
            filters = request.get("filters") or []
            if filters:  # with filters AWS ignores jobStatus and lists every status
                for item in filters:
                    candidates = [j for j in candidates if _matches(j, item)]
                candidates.sort(key=lambda j: j.created_at, reverse=True)
            else:
                status = request.get("jobStatus") or "RUNNING"
                candidates = [j for j in candidates if j.status == status]
            items = [j.summary() for j in candidates]
        start = _decode_token(request.get("nextToken"))
        size = int(request.get("maxResults") or 100)
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

    def op_terminatejob(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._stop(self._job(str(request.get("jobId", ""))), str(request.get("reason", "")),
                       cancel=False)
        return {}

    def op_canceljob(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._stop(self._job(str(request.get("jobId", ""))), str(request.get("reason", "")),
                       cancel=True)
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

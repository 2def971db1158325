"""Compute environment capacity: a job starts only where its vCPUs fit under ``maxvCpus``.

AWS Batch places a RUNNABLE job on the first compute environment of its queue (in order) that is
VALID, ENABLED and has room; a job bigger than every environment's ``maxvCpus`` stays RUNNABLE
with the status reason below (AWS Batch user guide, "Jobs stuck in a RUNNABLE status";
the ``MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT`` reason is what DescribeJobs reports), and a
job that fits but finds the environment full waits RUNNABLE until running jobs end.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from batchmagic.emulator.models import Job

TOO_BIG = ("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement "
           "(vCPU/memory/GPU) is higher than that can be met by the CE(s) attached to the job "
           "queue.")


def job_vcpus(job: Job) -> float:
    """The job's vCPUs: the sum over its containers (one task)."""
    total = 0.0
    for spec in job.specs:
        for requirement in spec.detail.get("resourceRequirements") or []:
            if requirement.get("type") == "VCPU":
                total += float(requirement.get("value") or 0)
        if not spec.detail.get("resourceRequirements") and spec.detail.get("vcpus"):
            total += float(spec.detail["vcpus"])
    return total


def max_vcpus(environment: Any) -> float:
    return float((environment.detail.get("computeResources") or {}).get("maxvCpus") or 0)


class Capacity:
    """vCPUs in use per compute environment (by name), reserved when a job starts."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self.in_use: dict[str, float] = {}

    def place(self, job: Job, environments: list[Any]) -> str | None:
        """Reserve room for ``job`` on the first environment that has it; its name, or None
        while it must wait (with AWS's status reason when it can never fit)."""
        vcpus = job_vcpus(job)
        with self.lock:
            if environments and all(vcpus > max_vcpus(e) for e in environments):
                job.status_reason = TOO_BIG
                return None
            for environment in environments:
                used = self.in_use.get(environment.name, 0.0)
                if used + vcpus <= max_vcpus(environment):
                    self.in_use[environment.name] = used + vcpus
                    name = str(environment.name)
                    job.on_release = functools.partial(self._release, name, vcpus)
                    return name
            return None

    def _release(self, name: str, vcpus: float) -> None:
        with self.lock:
            self.in_use[name] = max(0.0, self.in_use.get(name, 0.0) - vcpus)

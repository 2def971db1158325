"""Rules that depend on where a job runs (EC2 or Fargate), and on a job's overrides.

Sources are in the emulator README's rules table; AWS's wording is kept where it is known.
"""

from __future__ import annotations

import json
import re
from typing import Any

from batchmagic.emulator.errors import BatchError

EXCEPTION = "Error executing request, Exception : "
# On EC2 a VCPU value is a whole number written without a decimal point: AWS refuses "1.0"
# ("Value 1.0 for type VCPU in resourceRequirement is not valid. Please provide a numeric
# value.", a public report against a three-container runner, see README).
_WHOLE_VCPU = re.compile(r"^[1-9][0-9]*$")
_WHOLE_MIB = re.compile(r"^[0-9]+$")
MIN_JOB_MEMORY_MIB = 4
EPHEMERAL_MIN_GIB, EPHEMERAL_MAX_GIB = 21, 200
RESERVED_ENV_PREFIX = "AWS_BATCH"
MAX_OVERRIDES_CHARS = 8192
OVERRIDES_TOO_LONG = f"Container Overrides length must be at most {MAX_OVERRIDES_CHARS}"


def _requirements(container: dict[str, Any], kind: str) -> list[str]:
    return [str(item.get("value")) for item in container.get("resourceRequirements") or []
            if isinstance(item, dict) and item.get("type") == kind]


def _whole_total(container: dict[str, Any], kind: str, whole: re.Pattern[str]) -> int:
    """The sum of the container's ``kind`` requirements, each a whole number per ``whole``."""
    total = 0
    for value in _requirements(container, kind):
        if not whole.match(value):
            raise BatchError(f"{EXCEPTION}Value {value} for type {kind} in resourceRequirement "
                             "is not valid. Please provide a numeric value.")
        total += int(value)
    return total


def check_ec2_resources(containers: list[dict[str, Any]], *, submitted: bool) -> None:
    """EC2: every VCPU value a positive whole number ("2", not "2.0" nor "0.5"), MEMORY whole
    MiB; once submitted (the values may come from overrides) the job as a whole has at least
    1 vCPU and 4 MiB. A container may leave VCPU out (its CPU is then shared), as long as
    another one gives the job its vCPUs."""
    total_vcpus, total_memory = 0, 0
    for container in containers:
        total_vcpus += _whole_total(container, "VCPU", _WHOLE_VCPU)
        total_memory += _whole_total(container, "MEMORY", _WHOLE_MIB)
        total_vcpus += int(container.get("vcpus") or 0)
        total_memory += int(container.get("memory") or 0)
    if not submitted:
        return
    if total_vcpus < 1:
        raise BatchError(f"{EXCEPTION}Jobs that run on EC2 resources must specify at least one "
                         "vCPU (a VCPU resourceRequirement).")
    if total_memory < MIN_JOB_MEMORY_MIB:
        raise BatchError(f"{EXCEPTION}Jobs that run on EC2 resources must specify at least "
                         f"{MIN_JOB_MEMORY_MIB} MiB of memory (a MEMORY resourceRequirement).")


def check_volumes(containers: list[dict[str, Any]], task: dict[str, Any], *,
                  fargate: bool) -> None:
    """Every mount point names a task volume; Fargate tasks have no ``host`` volumes."""
    volumes = task.get("volumes") or []
    names = {v.get("name") for v in volumes if isinstance(v, dict)}
    for volume in volumes:
        if fargate and volume.get("host") is not None:
            raise BatchError(f"{EXCEPTION}Volume {volume.get('name')}: host volumes are not "
                             "supported for jobs that run on Fargate resources.")
    for container in containers:
        for mount in container.get("mountPoints") or []:
            source = mount.get("sourceVolume")
            if source not in names:
                raise BatchError(f"{EXCEPTION}Container {container.get('name', 'default')}: "
                                 f"mount point sourceVolume {source} does not name a volume "
                                 "of the task.")


def check_task_settings(task: dict[str, Any], *, fargate: bool) -> None:
    """networkConfiguration only on Fargate; ephemeralStorage only on Fargate, 21-200 GiB."""
    if not fargate and task.get("networkConfiguration") is not None:
        raise BatchError(f"{EXCEPTION}networkConfiguration is only supported for jobs that run "
                         "on Fargate resources.")
    storage = task.get("ephemeralStorage")
    if storage is None:
        return
    if not fargate:
        raise BatchError(f"{EXCEPTION}ephemeralStorage is only supported for jobs that run on "
                         "Fargate resources.")
    size = storage.get("sizeInGiB") if isinstance(storage, dict) else None
    if not isinstance(size, int) or not EPHEMERAL_MIN_GIB <= size <= EPHEMERAL_MAX_GIB:
        raise BatchError(f"{EXCEPTION}ephemeralStorage.sizeInGiB must be between "
                         f"{EPHEMERAL_MIN_GIB} and {EPHEMERAL_MAX_GIB}, got {size}.")


def check_environment_names(containers: list[dict[str, Any]]) -> None:
    """Environment variable names may not start with AWS_BATCH (Batch sets those)."""
    for container in containers:
        for item in container.get("environment") or []:
            name = str(item.get("name", ""))
            if name.startswith(RESERVED_ENV_PREFIX):
                raise BatchError(f"{EXCEPTION}Environment variable {name}: names cannot start "
                                 f"with {RESERVED_ENV_PREFIX}; that prefix is reserved for "
                                 "variables that Batch sets.")


def check_platform_rules(containers: list[dict[str, Any]], task: dict[str, Any], *,
                         fargate: bool, submitted: bool) -> None:
    if not fargate:
        check_ec2_resources(containers, submitted=submitted)
    check_volumes(containers, task, fargate=fargate)
    check_task_settings(task, fargate=fargate)
    check_environment_names(containers)


def overrides_length(overrides: list[dict[str, Any]]) -> int:
    """The length ECS counts for a task's overrides: the JSON text of the override structure
    (``{"containerOverrides":[...]}``), formatting characters included."""
    return len(json.dumps({"containerOverrides": overrides}, separators=(",", ":")))


def overrides_failure(overrides: list[dict[str, Any]]) -> str | None:
    """The statusReason that FAILS a job after submit when its overrides are too long."""
    return OVERRIDES_TOO_LONG if overrides_length(overrides) > MAX_OVERRIDES_CHARS else None

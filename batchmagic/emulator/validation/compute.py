"""Compute environment and job queue rules (CreateComputeEnvironment, CreateJobQueue).

Sources are in the emulator README's rules table: botocore's Batch model documents each
``ComputeResource`` member that Fargate refuses, and CreateJobQueue's ``computeEnvironmentOrder``.
"""

from __future__ import annotations

import re
from typing import Any

from batchmagic.emulator.errors import BatchError

EXCEPTION = "Error executing request, Exception : "
CE_TYPES = ("FARGATE", "FARGATE_SPOT", "EC2", "SPOT")
FARGATE_TYPES = ("FARGATE", "FARGATE_SPOT")
# ComputeResource members that "aren't applicable to jobs that are running on Fargate resources".
EC2_ONLY = ("allocationStrategy", "minvCpus", "desiredvCpus", "instanceTypes", "imageId",
            "ec2KeyPair", "instanceRole", "tags", "placementGroup", "bidPercentage",
            "spotIamFleetRole", "launchTemplate", "ec2Configuration", "scalingPolicy")
MAX_FARGATE_SUBNETS = 16
MAX_QUEUE_ENVIRONMENTS = 3
QUEUE_HEALTHY = ("VALID", "JobQueue Healthy")
# Graviton (arm64) instance families: a1, and a generation digit followed by "g" (m6g, c7gn,
# t4g, x2gd, im4gn, g5g); botocore's ComputeResource.instanceTypes names default_arm64's m6g,
# c6g, r6g and c7g, and default_x86_64 / optimal for x86.
_ARM_FAMILY = re.compile(r"^(a1|[a-z]+\d+g)")


def check_compute_environment(kind: Any, resources: dict[str, Any] | None) -> None:
    """MANAGED needs computeResources with type, maxvCpus and subnets; Fargate needs security
    groups and refuses the EC2-only members; EC2 needs an instance role."""
    if kind not in ("MANAGED", "UNMANAGED"):
        raise BatchError("Compute environment type must be MANAGED or UNMANAGED.")
    if kind == "UNMANAGED":
        return
    if not resources or resources.get("type") not in CE_TYPES:
        raise BatchError("A MANAGED compute environment needs computeResources with type "
                         "FARGATE, FARGATE_SPOT, EC2 or SPOT.")
    for member in ("maxvCpus", "subnets"):
        if resources.get(member) is None:
            raise BatchError(f"{EXCEPTION}computeResources.{member} is required for a MANAGED "
                             "compute environment.")
    if not isinstance(resources["maxvCpus"], int) or resources["maxvCpus"] < 0:
        raise BatchError(f"{EXCEPTION}computeResources.maxvCpus must be a non-negative "
                         "integer.")
    if not resources["subnets"]:
        raise BatchError(f"{EXCEPTION}computeResources.subnets must name at least one subnet.")
    if resources["type"] in FARGATE_TYPES:
        if len(resources["subnets"]) > MAX_FARGATE_SUBNETS:
            raise BatchError(f"{EXCEPTION}Fargate compute resources can contain up to "
                             f"{MAX_FARGATE_SUBNETS} subnets.")
        if not resources.get("securityGroupIds"):
            raise BatchError(f"{EXCEPTION}computeResources.securityGroupIds is required for "
                             "Fargate compute environments and must contain at least one "
                             "security group.")
        given = [m for m in EC2_ONLY if resources.get(m) is not None]
        if given:
            raise BatchError(f"{EXCEPTION}{', '.join(given)} cannot be specified for Fargate "
                             "compute environments (they apply to EC2 resources only).")
    elif not resources.get("instanceRole"):
        raise BatchError(f"{EXCEPTION}computeResources.instanceRole is required for EC2 and "
                         "SPOT compute environments.")


def is_fargate_environment(detail: dict[str, Any]) -> bool:
    return (detail.get("computeResources") or {}).get("type") in FARGATE_TYPES


def queue_type(environments: list[dict[str, Any]]) -> str:
    """``ECS_FARGATE`` for a queue of Fargate environments, ``ECS`` for EC2 ones."""
    return "ECS_FARGATE" if environments and all(is_fargate_environment(e)
                                                 for e in environments) else "ECS"


def check_queue_environments(environments: list[dict[str, Any]],
                             requested_type: str | None) -> str:
    """CreateJobQueue/UpdateJobQueue: 1-3 environments, all VALID, not EC2 and Fargate mixed,
    and a ``jobQueueType`` (if given) that matches them. Returns the queue's type."""
    if len(environments) > MAX_QUEUE_ENVIRONMENTS:
        raise BatchError(f"{EXCEPTION}A job queue can have at most {MAX_QUEUE_ENVIRONMENTS} "
                         f"compute environments, got {len(environments)}.")
    for detail in environments:
        if detail.get("status") != "VALID":
            raise BatchError(f"{EXCEPTION}Compute environment {detail['computeEnvironmentName']}"
                             f" is not in VALID status (it is {detail.get('status')}).")
    kinds = {is_fargate_environment(e) for e in environments}
    if len(kinds) > 1:
        raise BatchError(f"{EXCEPTION}EC2 and Fargate compute environments can't be mixed in "
                         "one job queue.")
    actual = queue_type(environments)
    if requested_type is not None and environments and requested_type != actual:
        raise BatchError(f"{EXCEPTION}jobQueueType {requested_type} does not match the "
                         f"compute environments of the queue ({actual}).")
    return requested_type or actual


def _architecture(detail: dict[str, Any]) -> str | None:
    """An EC2 environment's CPU architecture from its instance types; None on Fargate, where
    each job's definition chooses (runtimePlatform.cpuArchitecture)."""
    if is_fargate_environment(detail):
        return None
    types = (detail.get("computeResources") or {}).get("instanceTypes") or ["optimal"]
    arm = [t == "default_arm64" or bool(_ARM_FAMILY.match(t)) for t in types]
    return "arm64" if all(arm) else "x86_64"


def queue_status(name: str, environments: list[dict[str, Any]]) -> tuple[str, str]:
    """The status a queue reaches once created or updated. AWS documents that "all compute
    environments that are associated with a job queue must share the same architecture"
    (botocore's ComputeEnvironmentOrder), not when it enforces it. Decision: as for an unknown
    service role, the call is accepted and the queue goes INVALID; its jobs wait RUNNABLE."""
    found = sorted({a for a in map(_architecture, environments) if a is not None})
    if len(found) > 1:
        return ("INVALID", f"CLIENT_ERROR - The compute environments of job queue {name} do "
                f"not share one architecture ({', '.join(found)}).")
    return QUEUE_HEALTHY


def check_time_limit_actions(actions: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """CreateJobQueue's jobStateTimeLimitActions (botocore's Batch model, JobStateTimeLimitAction:
    state RUNNABLE only; maxTimeSeconds 600-86,400; action CANCEL for ECS/Fargate queues)."""
    checked = []
    for action in actions or []:
        if action.get("state") != "RUNNABLE":
            raise BatchError("jobStateTimeLimitActions.state: the only supported value is "
                             "RUNNABLE.")
        if not 600 <= int(action.get("maxTimeSeconds", 0)) <= 86400:
            raise BatchError("jobStateTimeLimitActions.maxTimeSeconds must be between 600 and "
                             "86400.")
        if action.get("action") != "CANCEL":
            raise BatchError("jobStateTimeLimitActions.action: the only supported value for "
                             "ECS and Fargate job queues is CANCEL.")
        checked.append(dict(action))
    return checked

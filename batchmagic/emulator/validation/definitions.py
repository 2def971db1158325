"""Job definition rules: containers, their dependencies, and Fargate task sizes.

What depends on the platform (EC2 vCPUs, volumes, network, storage) is in ``platform.py``.
"""

from __future__ import annotations

from typing import Any

from batchmagic.emulator.errors import BatchError
from batchmagic.emulator.validation.names import check_name
from batchmagic.emulator.validation.platform import check_platform_rules

# The job-name pattern and the Fargate sizes are copies of what batchmagic.jobdef checks, kept
# here on purpose: the emulator is an independent check of AWS's rules (tests/test_copies.py
# checks that the copies agree).
# Fargate task sizes: vCPU -> allowed memory in MiB.
FARGATE_SIZES: dict[float, frozenset[int]] = {
    0.25: frozenset({512, 1024, 2048}),
    0.5: frozenset(range(1024, 4097, 1024)),
    1.0: frozenset(range(2048, 8193, 1024)),
    2.0: frozenset(range(4096, 16385, 1024)),
    4.0: frozenset(range(8192, 30721, 1024)),
    8.0: frozenset(range(16384, 61441, 4096)),
    16.0: frozenset(range(32768, 122881, 8192)),
}


def _requirement(requirements: Any, kind: str) -> float:
    for item in requirements or []:
        if isinstance(item, dict) and item.get("type") == kind:
            try:
                return float(item.get("value", 0))
            except (TypeError, ValueError):
                raise BatchError(f"Invalid {kind} resource requirement value: "
                                 f"{item.get('value')!r}") from None
    return 0.0


def check_fargate_size(containers: list[dict[str, Any]]) -> None:
    """The containers' VCPU and MEMORY must add up to one valid Fargate task size."""
    vcpus = sum(_requirement(c.get("resourceRequirements"), "VCPU") for c in containers)
    memory = sum(_requirement(c.get("resourceRequirements"), "MEMORY") for c in containers)
    if vcpus not in FARGATE_SIZES or int(memory) not in FARGATE_SIZES[vcpus]:
        raise BatchError(f"Fargate resource requirements are not valid: the sum of the "
                         f"containers' vCPU ({vcpus:g}) and memory ({memory:g} MiB) is not a "
                         "supported Fargate task size.")


def check_containers(containers: Any) -> None:
    """Multi-container rules: names unique, one essential, dependsOn sane and acyclic."""
    if not isinstance(containers, list) or not 1 <= len(containers) <= 10:
        raise BatchError("A task must have between 1 and 10 containers.")
    names = [c.get("name") for c in containers if isinstance(c, dict)]
    if len(containers) > 1 and (None in names or len(set(names)) != len(names)):
        raise BatchError("Container names must be unique and non-empty in a multi-container "
                         "task.")
    by_name = {c.get("name"): c for c in containers}
    if not any(c.get("essential", True) for c in containers):
        raise BatchError("At least one container in the task must be essential.")
    for container in containers:
        if not container.get("image"):
            raise BatchError(f"Container {container.get('name')}: image is required.")
        for dep in container.get("dependsOn") or []:
            target, condition = dep.get("containerName"), dep.get("condition")
            if target not in by_name:
                raise BatchError(f"Container {container.get('name')} depends on container "
                                 f"{target}, which is not defined in the task.")
            if condition not in ("START", "COMPLETE", "SUCCESS"):
                raise BatchError(f"Invalid dependsOn condition {condition!r}: it must be "
                                 "START, COMPLETE or SUCCESS.")
            if condition in ("COMPLETE", "SUCCESS") and by_name[target].get("essential", True):
                raise BatchError(f"Container {container.get('name')} has a {condition} "
                                 f"dependency on container {target}, but {target} is "
                                 "essential: COMPLETE and SUCCESS dependencies cannot be on "
                                 "an essential container.")
    _check_acyclic(by_name)


def _check_acyclic(by_name: dict[Any, dict[str, Any]]) -> None:
    state: dict[Any, int] = {}  # 1 = visiting, 2 = done

    def visit(name: Any) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise BatchError(f"Container dependencies form a cycle through container {name}.")
        state[name] = 1
        for dep in by_name[name].get("dependsOn") or []:
            visit(dep.get("containerName"))
        state[name] = 2

    for name in by_name:
        visit(name)


def check_job_definition(*, name: Any, kind: Any, platform_capabilities: list[str] | None,
                         container_properties: dict[str, Any] | None,
                         ecs_properties: dict[str, Any] | None) -> None:
    """RegisterJobDefinition: name, type, exactly one kind of properties, platform rules."""
    check_name(name, "Job definition name")
    if kind not in ("container", "multinode"):
        raise BatchError("Job definition type must be container or multinode.")
    fargate = "FARGATE" in (platform_capabilities or [])
    if ecs_properties and container_properties:
        raise BatchError("Only one of containerProperties, ecsProperties, eksProperties or "
                         "nodeProperties can be specified.")
    if ecs_properties:
        tasks = ecs_properties.get("taskProperties") or []
        if len(tasks) != 1:
            raise BatchError("ecsProperties must contain exactly one taskProperties entry.")
        check_containers(tasks[0].get("containers"))
        if fargate and not tasks[0].get("executionRoleArn"):
            raise BatchError("Fargate job definitions require an executionRoleArn.")
        check_task(tasks[0]["containers"], tasks[0], fargate=fargate, submitted=False)
    elif container_properties:
        if not container_properties.get("image"):
            raise BatchError("containerProperties.image is required.")
        if fargate and not container_properties.get("executionRoleArn"):
            raise BatchError("Fargate job definitions require an executionRoleArn.")
        check_task([container_properties], container_properties, fargate=fargate,
                   submitted=False)
    elif kind == "container":
        raise BatchError("Container type job definitions need containerProperties or "
                         "ecsProperties.")


def check_task(containers: list[dict[str, Any]], task: dict[str, Any], *, fargate: bool,
               submitted: bool) -> None:
    """The rules a task must meet on its platform, at registration and again after a
    SubmitJob's overrides are applied."""
    if fargate:
        check_fargate_size(containers)
    check_platform_rules(containers, task, fargate=fargate, submitted=submitted)

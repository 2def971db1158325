"""From a job definition and a SubmitJob request to the containers a job runs."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from batchmagic.emulator.errors import BatchError
from batchmagic.emulator.models import ContainerSpec, JobDefinition
from batchmagic.emulator.validation import check_containers, check_task

_REF = re.compile(r"Ref::([A-Za-z0-9_-]+)")


def _merge_named(base: list[dict[str, Any]], extra: list[dict[str, Any]],
                 key: str) -> list[dict[str, Any]]:
    """Override entries by their ``key`` (env vars by name, requirements by type)."""
    merged = {item.get(key): item for item in base}
    merged.update({item.get(key): item for item in extra})
    return list(merged.values())


def _apply(container: dict[str, Any], override: dict[str, Any]) -> None:
    if "command" in override:
        container["command"] = list(override["command"])
    if override.get("environment"):
        container["environment"] = _merge_named(container.get("environment") or [],
                                                 override["environment"], "name")
    if override.get("resourceRequirements"):
        container["resourceRequirements"] = _merge_named(
            container.get("resourceRequirements") or [], override["resourceRequirements"],
            "type")
    for key in ("vcpus", "memory", "instanceType"):
        if key in override:
            container[key] = override[key]


def _substitute(command: list[str], parameters: dict[str, str]) -> list[str]:
    """``Ref::name`` placeholders in the command take the job's parameter values."""
    return [_REF.sub(lambda m: parameters.get(m.group(1), m.group(0)), arg) for arg in command]


@dataclass(frozen=True)
class Overrides:
    """What a SubmitJob changes in its job definition."""

    parameters: dict[str, str] = field(default_factory=dict)
    container_overrides: dict[str, Any] | None = None
    ecs_properties_override: dict[str, Any] | None = None

    def task_containers(self) -> list[dict[str, Any]]:
        """The container overrides of the (only) task of an ecsProperties job."""
        tasks = (self.ecs_properties_override or {}).get("taskProperties") or [{}]
        containers: list[dict[str, Any]] = tasks[0].get("containers") or []
        return containers


@dataclass(frozen=True)
class BuiltJob:
    """The containers a job runs, its task-level detail, and the overrides it was given."""

    multi_container: bool
    specs: list[ContainerSpec]
    task: dict[str, Any]  # EcsTaskDetails (minus containers) or ContainerDetail extras
    override_containers: list[dict[str, Any]]  # as ECS receives them (their length counts)


def _is_fargate(definition: JobDefinition) -> bool:
    return "FARGATE" in (definition.detail.get("platformCapabilities") or [])


def build_specs(definition: JobDefinition, overrides: Overrides) -> BuiltJob:
    """The job's containers after overrides and parameter substitution, checked against the
    platform's rules again (overrides may change sizes and environments)."""
    detail = definition.detail
    parameters = {**(detail.get("parameters") or {}), **overrides.parameters}
    fargate = _is_fargate(definition)
    if detail.get("ecsProperties"):
        task = copy.deepcopy(detail["ecsProperties"]["taskProperties"][0])
        containers: list[dict[str, Any]] = task.pop("containers")
        by_name = {c.get("name"): c for c in containers}
        for override in overrides.task_containers():
            name = override.get("name")
            if name is None and len(containers) == 1:
                name = containers[0].get("name")
            if name not in by_name:
                raise BatchError(f"Container override names container {name}, which is not in "
                                 "the job definition.")
            _apply(by_name[name], override)
        check_containers(containers)
        check_task(containers, task, fargate=fargate, submitted=True)
        specs = []
        for index, container in enumerate(containers):
            container["command"] = _substitute(container.get("command") or [], parameters)
            container.setdefault("essential", True)
            name = container.get("name") or f"container-{index}"
            specs.append(ContainerSpec(
                name=name, detail=container, essential=bool(container["essential"]),
                depends_on=[(d["containerName"], d["condition"])
                            for d in container.get("dependsOn") or []]))
        return BuiltJob(True, specs, task, list(overrides.task_containers()))
    if not detail.get("containerProperties"):
        raise BatchError("Only container job definitions with containerProperties or "
                         "ecsProperties can run on the emulator.")
    container = copy.deepcopy(detail["containerProperties"])
    _apply(container, overrides.container_overrides or {})
    check_task([container], container, fargate=fargate, submitted=True)
    container["command"] = _substitute(container.get("command") or [], parameters)
    task = {"volumes": container.get("volumes") or []}
    single_override = [overrides.container_overrides] if overrides.container_overrides else []
    return BuiltJob(False, [ContainerSpec(name="default", detail=container)], task,
                    single_override)

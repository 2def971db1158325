"""From a job definition and a SubmitJob request to the containers a job runs."""

from __future__ import annotations

import copy
import re
from typing import Any

from batchmagic.emulator.errors import BatchError
from batchmagic.emulator.models import ContainerSpec, JobDefinition
from batchmagic.emulator.validation import check_containers, check_fargate_size

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


def build_specs(definition: JobDefinition, request: dict[str, Any],
                ) -> tuple[bool, list[ContainerSpec], dict[str, Any]]:
    """(multi_container, container specs, task-level detail) for a submitted job."""
    detail = definition.detail
    parameters = {**(detail.get("parameters") or {}), **(request.get("parameters") or {})}
    fargate = "FARGATE" in (detail.get("platformCapabilities") or [])
    if detail.get("ecsProperties"):
        task = copy.deepcopy(detail["ecsProperties"]["taskProperties"][0])
        containers: list[dict[str, Any]] = task.pop("containers")
        overrides = ((request.get("ecsPropertiesOverride") or {}).get("taskProperties")
                     or [{}])[0].get("containers") or []
        by_name = {c.get("name"): c for c in containers}
        for override in overrides:
            name = override.get("name")
            if name is None and len(containers) == 1:
                name = containers[0].get("name")
            if name not in by_name:
                raise BatchError(f"Container override names container {name}, which is not in "
                                 "the job definition.")
            _apply(by_name[name], override)
        check_containers(containers)
        if fargate:
            check_fargate_size(containers)
        specs = []
        for index, container in enumerate(containers):
            container["command"] = _substitute(container.get("command") or [], parameters)
            container.setdefault("essential", True)
            name = container.get("name") or f"container-{index}"
            specs.append(ContainerSpec(
                name=name, detail=container, essential=bool(container["essential"]),
                depends_on=[(d["containerName"], d["condition"])
                            for d in container.get("dependsOn") or []]))
        return True, specs, task
    if not detail.get("containerProperties"):
        raise BatchError("Only container job definitions with containerProperties or "
                         "ecsProperties can run on the emulator.")
    container = copy.deepcopy(detail["containerProperties"])
    _apply(container, request.get("containerOverrides") or {})
    if fargate:
        check_fargate_size([container])
    container["command"] = _substitute(container.get("command") or [], parameters)
    task = {"volumes": container.get("volumes") or []}
    return False, [ContainerSpec(name="default", detail=container)], task

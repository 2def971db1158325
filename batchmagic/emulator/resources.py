"""Compute environments, job queues, job definitions and tags (everything but jobs)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from batchmagic.emulator.errors import BatchError
from batchmagic.emulator.logsink import ACCOUNT_ID
from batchmagic.emulator.models import ComputeEnvironment, JobDefinition, JobQueue, arn
from batchmagic.emulator.validation import check_job_definition, check_name

# AWS takes seconds to provision; clients must still see CREATING before VALID.
PROVISIONING_DELAY_S = 0.3
_CE_TYPES = ("FARGATE", "FARGATE_SPOT", "EC2", "SPOT")
ALREADY_EXISTS = "Error executing request, Exception : Object already exists"


def _region(request: dict[str, Any]) -> str:
    return str(request.get("__region", "us-east-1"))


def _later(action: Any) -> None:
    timer = threading.Timer(PROVISIONING_DELAY_S, action)
    timer.daemon = True
    timer.start()


def _token_page(items: list[Any], request: dict[str, Any], default: int = 100,
                ) -> tuple[list[Any], str | None]:
    """maxResults/nextToken paging; the token is the next offset."""
    try:
        start = int(request.get("nextToken") or 0)
    except ValueError:
        raise BatchError("Invalid nextToken") from None
    size = int(request.get("maxResults") or default)
    page = items[start:start + size]
    return page, (str(start + size) if start + size < len(items) else None)


class Resources:
    """State and handlers for the non-job resources; ``self.lock`` guards everything."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.environments: dict[str, ComputeEnvironment] = {}
        self.queues: dict[str, JobQueue] = {}
        self.definitions: dict[str, list[JobDefinition]] = {}

    # -- lookups ---------------------------------------------------------------------------
    def find_environment(self, ref: str) -> ComputeEnvironment | None:
        return self.environments.get(ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref)

    def find_queue(self, ref: str) -> JobQueue | None:
        found = self.queues.get(ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref)
        return found if found is None or ref == found.name or ref == found.arn else None

    def find_definition(self, ref: str) -> JobDefinition:
        name = ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref
        if ":" in name:
            base, _, revision = name.partition(":")
            for definition in self.definitions.get(base, []):
                if str(definition.revision) == revision:
                    return definition
            raise BatchError(f"JobDefinition {ref} not found.")
        active = [d for d in self.definitions.get(name, []) if d.detail["status"] == "ACTIVE"]
        if not active:
            raise BatchError(f"JobDefinition name {name} does not exist or is not in ACTIVE "
                             "status")
        return active[-1]

    def _set_status(self, detail: dict[str, Any], status: str, reason: str) -> None:
        with self.lock:
            detail["status"], detail["statusReason"] = status, reason

    # -- compute environments ----------------------------------------------------------------
    def op_createcomputeenvironment(self, request: dict[str, Any]) -> dict[str, Any]:
        name = check_name(request.get("computeEnvironmentName"), "Compute environment name")
        kind = request.get("type")
        resources = request.get("computeResources")
        if kind == "MANAGED" and (not resources or resources.get("type") not in _CE_TYPES):
            raise BatchError("A MANAGED compute environment needs computeResources with type "
                             "FARGATE, FARGATE_SPOT, EC2 or SPOT.")
        if kind not in ("MANAGED", "UNMANAGED"):
            raise BatchError("Compute environment type must be MANAGED or UNMANAGED.")
        region = _region(request)
        with self.lock:
            if name in self.environments:
                raise BatchError(ALREADY_EXISTS)
            env_arn = arn(region, "compute-environment", name)
            detail: dict[str, Any] = {
                "computeEnvironmentName": name, "computeEnvironmentArn": env_arn,
                "ecsClusterArn": f"arn:aws:ecs:{region}:{ACCOUNT_ID}:cluster/AWSBatch-{name}-"
                                 f"{uuid.uuid4()}",
                "type": kind, "state": request.get("state", "ENABLED"), "status": "CREATING",
                "statusReason": "Creating compute environment", "uuid": str(uuid.uuid4()),
                "containerOrchestrationType": "ECS"}
            for key in ("computeResources", "serviceRole", "unmanagedvCpus"):
                if key in request:
                    detail[key] = request[key]
            self.environments[name] = ComputeEnvironment(name, env_arn, detail,
                                                         dict(request.get("tags") or {}))
        _later(lambda: self._set_status(detail, "VALID", "ComputeEnvironment Healthy"))
        return {"computeEnvironmentName": name, "computeEnvironmentArn": env_arn}

    def op_describecomputeenvironments(self, request: dict[str, Any]) -> dict[str, Any]:
        refs = request.get("computeEnvironments") or []
        with self.lock:
            found = [self.find_environment(r) for r in refs] if refs else list(
                self.environments.values())
            items = [e.describe() for e in found if e is not None]
        page, token = _token_page(items, request)
        return {"computeEnvironments": page, **({"nextToken": token} if token else {})}

    def op_updatecomputeenvironment(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            env = self.find_environment(str(request.get("computeEnvironment", "")))
            if env is None:
                raise BatchError(f"{request.get('computeEnvironment')} does not exist")
            if "state" in request:
                env.detail["state"] = request["state"]
            if "serviceRole" in request:
                env.detail["serviceRole"] = request["serviceRole"]
            if request.get("computeResources"):
                env.detail.setdefault("computeResources", {}).update(request["computeResources"])
            env.detail["status"] = "UPDATING"
        _later(lambda: self._set_status(env.detail, "VALID", "ComputeEnvironment Healthy"))
        return {"computeEnvironmentName": env.name, "computeEnvironmentArn": env.arn}

    def op_deletecomputeenvironment(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            env = self.find_environment(str(request.get("computeEnvironment", "")))
            if env is None:
                raise BatchError(f"{request.get('computeEnvironment')} does not exist")
            if env.detail["state"] != "DISABLED":
                raise BatchError("Cannot delete, found existing compute environment that is "
                                 "not in DISABLED state")
            for q in self.queues.values():
                if any(self.find_environment(o["computeEnvironment"]) is env
                       for o in q.detail["computeEnvironmentOrder"]):
                    raise BatchError("Cannot delete, found existing JobQueue relationship")
            env.detail["status"] = "DELETING"
        _later(lambda: self._remove(self.environments, env.name))
        return {}

    def _remove(self, table: dict[str, Any], name: str) -> None:
        with self.lock:
            table.pop(name, None)

    # -- job queues --------------------------------------------------------------------------
    def _order(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        order = []
        for item in request.get("computeEnvironmentOrder") or []:
            env = self.find_environment(str(item.get("computeEnvironment", "")))
            if env is None:
                raise BatchError(f"computeEnvironment {item.get('computeEnvironment')} does not "
                                 "exist")
            order.append({"order": item.get("order", 1), "computeEnvironment": env.arn})
        return order

    def op_createjobqueue(self, request: dict[str, Any]) -> dict[str, Any]:
        name = check_name(request.get("jobQueueName"), "Job queue name")
        region = _region(request)
        with self.lock:
            if name in self.queues:
                raise BatchError(ALREADY_EXISTS)
            order = self._order(request)
            queue_arn = arn(region, "job-queue", name)
            detail: dict[str, Any] = {
                "jobQueueName": name, "jobQueueArn": queue_arn,
                "state": request.get("state", "ENABLED"), "status": "CREATING",
                "statusReason": "Creating job queue", "priority": request.get("priority", 1),
                "computeEnvironmentOrder": order, "jobQueueType": "ECS_FARGATE"}
            actions = check_time_limit_actions(request.get("jobStateTimeLimitActions"))
            if actions:
                detail["jobStateTimeLimitActions"] = actions
            self.queues[name] = JobQueue(name, queue_arn, detail, dict(request.get("tags") or {}))
        _later(lambda: self._set_status(detail, "VALID", "JobQueue Healthy"))
        return {"jobQueueName": name, "jobQueueArn": queue_arn}

    def op_describejobqueues(self, request: dict[str, Any]) -> dict[str, Any]:
        refs = request.get("jobQueues") or []
        with self.lock:
            found = [self.find_queue(r) for r in refs] if refs else list(self.queues.values())
            items = [q.describe() for q in found if q is not None]
        page, token = _token_page(items, request)
        return {"jobQueues": page, **({"nextToken": token} if token else {})}

    def _queue(self, ref: str) -> JobQueue:
        queue = self.find_queue(ref)
        if queue is None:
            raise BatchError(f"JobQueue {ref} not found.")
        return queue

    def op_updatejobqueue(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            queue = self._queue(str(request.get("jobQueue", "")))
            if "computeEnvironmentOrder" in request:
                queue.detail["computeEnvironmentOrder"] = self._order(request)
            for key in ("state", "priority"):
                if key in request:
                    queue.detail[key] = request[key]
            queue.detail["status"] = "UPDATING"
        _later(lambda: self._set_status(queue.detail, "VALID", "JobQueue Healthy"))
        return {"jobQueueName": queue.name, "jobQueueArn": queue.arn}

    def op_deletejobqueue(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            queue = self._queue(str(request.get("jobQueue", "")))
            if queue.detail["state"] != "DISABLED":
                raise BatchError("Cannot delete, found existing JobQueue that is not in "
                                 "DISABLED state")
            queue.detail["status"] = "DELETING"
        _later(lambda: self._remove(self.queues, queue.name))
        return {}

    # -- job definitions ---------------------------------------------------------------------
    def op_registerjobdefinition(self, request: dict[str, Any]) -> dict[str, Any]:
        check_job_definition(request)
        name = request["jobDefinitionName"]
        with self.lock:
            revisions = self.definitions.setdefault(name, [])
            revision = revisions[-1].revision + 1 if revisions else 1
            def_arn = arn(_region(request), "job-definition", f"{name}:{revision}")
            detail = {k: v for k, v in request.items() if not k.startswith("__") and k != "tags"}
            detail.update({"jobDefinitionArn": def_arn, "revision": revision,
                           "status": "ACTIVE", "containerOrchestrationType": "ECS"})
            detail.setdefault("platformCapabilities", ["EC2"])
            detail.setdefault("parameters", {})
            revisions.append(JobDefinition(name, def_arn, detail,
                                           dict(request.get("tags") or {}), revision))
        return {"jobDefinitionName": name, "jobDefinitionArn": def_arn, "revision": revision}

    def op_describejobdefinitions(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            everything = [d for revs in self.definitions.values() for d in revs]
            refs = request.get("jobDefinitions") or []
            if refs:
                chosen = [d for d in everything
                          if any(r in (d.name, f"{d.name}:{d.revision}", d.arn) for r in refs)]
            else:
                chosen = everything
            if request.get("jobDefinitionName"):
                chosen = [d for d in chosen if d.name == request["jobDefinitionName"]]
            if request.get("status"):
                chosen = [d for d in chosen if d.detail["status"] == request["status"]]
            items = [d.describe() for d in chosen]
        page, token = _token_page(items, request)
        return {"jobDefinitions": page, **({"nextToken": token} if token else {})}

    def op_deregisterjobdefinition(self, request: dict[str, Any]) -> dict[str, Any]:
        ref = str(request.get("jobDefinition", ""))
        with self.lock:
            definition = self.find_definition(ref)
            definition.detail["status"] = "INACTIVE"
        return {}

    # -- tags --------------------------------------------------------------------------------
    def tagged(self, resource_arn: str) -> dict[str, str]:
        """The tag dict of any resource by ARN (jobs are looked up by the job layer)."""
        kind = resource_arn.split(":", 5)[-1].split("/", 1)[0] if resource_arn.count(":") >= 5 \
            else ""
        resource: Any = None
        if kind == "compute-environment":
            resource = self.find_environment(resource_arn)
        elif kind == "job-queue":
            resource = self.find_queue(resource_arn)
        elif kind == "job-definition":
            try:
                resource = self.find_definition(resource_arn)
            except BatchError:
                resource = None
        if resource is None:
            raise BatchError(f"Resource {resource_arn} not found.")
        tags: dict[str, str] = resource.tags
        return tags


def check_time_limit_actions(actions: Any) -> list[dict[str, Any]]:
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

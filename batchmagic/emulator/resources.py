"""Compute environments, job queues, job definitions and tags (everything but jobs)."""

from __future__ import annotations

import copy
import threading
import uuid
from typing import Any

from batchmagic.emulator.errors import BatchError
from batchmagic.emulator.logsink import ACCOUNT_ID
from batchmagic.emulator.models import ComputeEnvironment, JobDefinition, JobQueue, arn
from batchmagic.emulator.validation import (
    check_compute_environment,
    check_job_definition,
    check_name,
    check_queue_environments,
    check_tags,
    check_time_limit_actions,
    queue_status,
)

# AWS takes seconds to provision; clients must still see CREATING before VALID (a Describe
# right after the Create does), but a first notebook cell should not wait for the show.
PROVISIONING_DELAY_S = 0.05
ALREADY_EXISTS = "Error executing request, Exception : Object already exists"

def _service_role_problem(service_role: str | None) -> tuple[str, str]:
    """The status a new environment reaches. A serviceRole that names no IAM role is accepted,
    and the environment then goes INVALID ("Incorrect role name or ARN", the first cause in
    https://docs.aws.amazon.com/batch/latest/userguide/invalid_compute_environment.html)."""
    if service_role:
        from moto.iam.models import iam_backends

        try:
            iam_backends[ACCOUNT_ID]["aws"].get_role(service_role.rsplit("/", 1)[-1])
        except Exception:  # moto's NoSuchEntity
            return ("INVALID", f"CLIENT_ERROR - The service role {service_role} does not exist "
                    "or cannot be assumed by AWS Batch")
    return "VALID", "ComputeEnvironment Healthy"


def _later(action: Any) -> None:
    timer = threading.Timer(PROVISIONING_DELAY_S, action)
    timer.daemon = True
    timer.start()


def _token_page(items: list[Any], key: str, next_token: str | None, max_results: int | None,
                ) -> dict[str, Any]:
    """maxResults/nextToken paging (the token is the next offset): the response body."""
    try:
        start = int(next_token or 0)
    except ValueError:
        raise BatchError("Invalid nextToken") from None
    size = int(max_results or 100)
    out: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        out["nextToken"] = str(start + size)
    return out


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
    def create_compute_environment(
            self, *, region: str, compute_environment_name: str, type: str,
            state: str = "ENABLED", compute_resources: dict[str, Any] | None = None,
            service_role: str | None = None, unmanaged_vcpus: int | None = None,
            tags: dict[str, str] | None = None) -> dict[str, Any]:
        name = check_name(compute_environment_name, "Compute environment name")
        check_compute_environment(type, compute_resources)
        resource_tags = check_tags(tags)
        with self.lock:
            if name in self.environments:
                raise BatchError(ALREADY_EXISTS)
            env_arn = arn(region, "compute-environment", name)
            detail: dict[str, Any] = {
                "computeEnvironmentName": name, "computeEnvironmentArn": env_arn,
                "ecsClusterArn": f"arn:aws:ecs:{region}:{ACCOUNT_ID}:cluster/AWSBatch-{name}-"
                                 f"{uuid.uuid4()}",
                "type": type, "state": state, "status": "CREATING",
                "statusReason": "Creating compute environment", "uuid": str(uuid.uuid4()),
                "containerOrchestrationType": "ECS"}
            for key, value in (("computeResources", compute_resources),
                               ("serviceRole", service_role),
                               ("unmanagedvCpus", unmanaged_vcpus)):
                if value is not None:
                    detail[key] = value
            self.environments[name] = ComputeEnvironment(name, env_arn, detail, resource_tags)
        status = _service_role_problem(service_role)
        _later(lambda: self._set_status(detail, *status))
        return {"computeEnvironmentName": name, "computeEnvironmentArn": env_arn}

    def describe_compute_environments(
            self, *, region: str, compute_environments: list[str] | None = None,
            max_results: int | None = None, next_token: str | None = None) -> dict[str, Any]:
        del region
        with self.lock:
            found = ([self.find_environment(r) for r in compute_environments]
                     if compute_environments else list(self.environments.values()))
            items = [e.describe() for e in found if e is not None]
        return _token_page(items, "computeEnvironments", next_token, max_results)

    def _environment(self, ref: str) -> ComputeEnvironment:
        env = self.find_environment(ref)
        if env is None:
            raise BatchError(f"{ref} does not exist")
        return env

    def update_compute_environment(
            self, *, region: str, compute_environment: str, state: str | None = None,
            compute_resources: dict[str, Any] | None = None,
            service_role: str | None = None) -> dict[str, Any]:
        del region
        with self.lock:
            env = self._environment(compute_environment)
            if state is not None:
                env.detail["state"] = state
            if service_role is not None:
                env.detail["serviceRole"] = service_role
            if compute_resources:
                env.detail.setdefault("computeResources", {}).update(compute_resources)
            env.detail["status"] = "UPDATING"
            status = _service_role_problem(env.detail.get("serviceRole"))
        _later(lambda: self._set_status(env.detail, *status))
        return {"computeEnvironmentName": env.name, "computeEnvironmentArn": env.arn}

    def delete_compute_environment(self, *, region: str,
                                   compute_environment: str) -> dict[str, Any]:
        del region
        with self.lock:
            env = self._environment(compute_environment)
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
    def _order(self, name: str, order: list[dict[str, Any]], queue_type: str | None,
               ) -> tuple[list[dict[str, Any]], str, tuple[str, str]]:
        """The queue's computeEnvironmentOrder (ARNs), its jobQueueType and its coming status."""
        resolved, details = [], []
        for item in order:
            env = self.find_environment(str(item.get("computeEnvironment", "")))
            if env is None:
                raise BatchError(f"computeEnvironment {item.get('computeEnvironment')} does not "
                                 "exist")
            resolved.append({"order": item.get("order", 1), "computeEnvironment": env.arn})
            details.append(env.detail)
        return resolved, check_queue_environments(details, queue_type), queue_status(name, details)

    def create_job_queue(
            self, *, region: str, job_queue_name: str, priority: int,
            compute_environment_order: list[dict[str, Any]] | None = None,
            state: str = "ENABLED", job_queue_type: str | None = None,
            job_state_time_limit_actions: list[dict[str, Any]] | None = None,
            tags: dict[str, str] | None = None) -> dict[str, Any]:
        name = check_name(job_queue_name, "Job queue name")
        resource_tags = check_tags(tags)
        with self.lock:
            if name in self.queues:
                raise BatchError(ALREADY_EXISTS)
            order, kind, status = self._order(name, compute_environment_order or [],
                                              job_queue_type)
            queue_arn = arn(region, "job-queue", name)
            detail: dict[str, Any] = {
                "jobQueueName": name, "jobQueueArn": queue_arn, "state": state,
                "status": "CREATING", "statusReason": "Creating job queue",
                "priority": priority, "computeEnvironmentOrder": order, "jobQueueType": kind}
            actions = check_time_limit_actions(job_state_time_limit_actions)
            if actions:
                detail["jobStateTimeLimitActions"] = actions
            self.queues[name] = JobQueue(name, queue_arn, detail, resource_tags)
        _later(lambda: self._set_status(detail, *status))
        return {"jobQueueName": name, "jobQueueArn": queue_arn}

    def describe_job_queues(self, *, region: str, job_queues: list[str] | None = None,
                            max_results: int | None = None,
                            next_token: str | None = None) -> dict[str, Any]:
        del region
        with self.lock:
            found = ([self.find_queue(r) for r in job_queues] if job_queues
                     else list(self.queues.values()))
            items = [q.describe() for q in found if q is not None]
        return _token_page(items, "jobQueues", next_token, max_results)

    def _queue(self, ref: str) -> JobQueue:
        queue = self.find_queue(ref)
        if queue is None:
            raise BatchError(f"JobQueue {ref} not found.")
        return queue

    def update_job_queue(
            self, *, region: str, job_queue: str, state: str | None = None,
            priority: int | None = None,
            compute_environment_order: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        del region
        with self.lock:
            queue = self._queue(job_queue)
            current = [self.find_environment(o["computeEnvironment"])
                       for o in queue.detail["computeEnvironmentOrder"]]
            status = queue_status(queue.name, [e.detail for e in current if e is not None])
            if compute_environment_order is not None:
                order, kind, status = self._order(queue.name, compute_environment_order, None)
                queue.detail.update(computeEnvironmentOrder=order, jobQueueType=kind)
            if state is not None:
                queue.detail["state"] = state
            if priority is not None:
                queue.detail["priority"] = priority
            queue.detail["status"] = "UPDATING"
        _later(lambda: self._set_status(queue.detail, *status))
        return {"jobQueueName": queue.name, "jobQueueArn": queue.arn}

    def delete_job_queue(self, *, region: str, job_queue: str) -> dict[str, Any]:
        del region
        with self.lock:
            queue = self._queue(job_queue)
            if queue.detail["state"] != "DISABLED":
                raise BatchError("Cannot delete, found existing JobQueue that is not in "
                                 "DISABLED state")
            queue.detail["status"] = "DELETING"
        _later(lambda: self._remove(self.queues, queue.name))
        return {}

    # -- job definitions ---------------------------------------------------------------------
    def register_job_definition(
            self, *, region: str, job_definition_name: str, type: str,
            parameters: dict[str, str] | None = None,
            container_properties: dict[str, Any] | None = None,
            ecs_properties: dict[str, Any] | None = None,
            retry_strategy: dict[str, Any] | None = None, propagate_tags: bool | None = None,
            timeout: dict[str, Any] | None = None, tags: dict[str, str] | None = None,
            platform_capabilities: list[str] | None = None,
            scheduling_priority: int | None = None) -> dict[str, Any]:
        check_job_definition(name=job_definition_name, kind=type,
                             platform_capabilities=platform_capabilities,
                             container_properties=container_properties,
                             ecs_properties=ecs_properties)
        resource_tags = check_tags(tags)
        name = job_definition_name
        with self.lock:
            revisions = self.definitions.setdefault(name, [])
            revision = revisions[-1].revision + 1 if revisions else 1
            def_arn = arn(region, "job-definition", f"{name}:{revision}")
            detail: dict[str, Any] = {
                "jobDefinitionName": name, "jobDefinitionArn": def_arn, "revision": revision,
                "status": "ACTIVE", "type": type, "parameters": dict(parameters or {}),
                "platformCapabilities": list(platform_capabilities or ["EC2"]),
                "containerOrchestrationType": "ECS"}
            for key, value in (("containerProperties", container_properties),
                               ("ecsProperties", ecs_properties),
                               ("retryStrategy", retry_strategy),
                               ("propagateTags", propagate_tags), ("timeout", timeout),
                               ("schedulingPriority", scheduling_priority)):
                if value is not None:
                    detail[key] = copy.deepcopy(value)
            revisions.append(JobDefinition(name, def_arn, detail, resource_tags, revision))
        return {"jobDefinitionName": name, "jobDefinitionArn": def_arn, "revision": revision}

    def describe_job_definitions(
            self, *, region: str, job_definitions: list[str] | None = None,
            job_definition_name: str | None = None, status: str | None = None,
            max_results: int | None = None, next_token: str | None = None) -> dict[str, Any]:
        del region
        with self.lock:
            chosen = [d for revs in self.definitions.values() for d in revs]
            if job_definitions:
                chosen = [d for d in chosen if any(
                    r in (d.name, f"{d.name}:{d.revision}", d.arn) for r in job_definitions)]
            if job_definition_name:
                chosen = [d for d in chosen if d.name == job_definition_name]
            if status:
                chosen = [d for d in chosen if d.detail["status"] == status]
            items = [d.describe() for d in chosen]
        return _token_page(items, "jobDefinitions", next_token, max_results)

    def deregister_job_definition(self, *, region: str, job_definition: str) -> dict[str, Any]:
        del region
        with self.lock:
            self.find_definition(job_definition).detail["status"] = "INACTIVE"
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


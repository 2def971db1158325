"""The AWS side a run needs before it can submit: the target, the queue, the job definition.

Results are cached per endpoint for the life of the kernel, so the second cell makes no set-up
calls at all.
"""

from __future__ import annotations

import threading
from typing import Any

from batchmagic.aws.backoff import Backoff
from batchmagic.aws.clients import AwsClients
from batchmagic.aws.errors import aws_errors
from batchmagic.aws.staging import check_bucket
from batchmagic.errors import ConfigurationError, SubmissionError
from batchmagic.settings import MANAGED_TAG, Settings

_cache: dict[tuple[str, str], str] = {}
_cache_lock = threading.Lock()


def _cached(kind: str, key: str) -> str | None:
    with _cache_lock:
        return _cache.get((kind, key))


def _remember(kind: str, key: str, value: str) -> str:
    with _cache_lock:
        _cache[(kind, key)] = value
    return value


def _call(operation: str, fn: Any, **kwargs: Any) -> Any:
    with aws_errors(operation):
        return fn(**kwargs)


def _wait_valid(describe: Any, what: str, timeout: float = 600) -> dict[str, Any]:
    for _ in Backoff(first=0.1, most=5.0, factor=2.0).attempts(timeout):
        item: dict[str, Any] = describe()
        if item.get("status") == "VALID":
            return item
        if item.get("status") == "INVALID":
            raise SubmissionError(f"{what} is INVALID: {item.get('statusReason', 'no reason')}")
    raise SubmissionError(f"{what} did not become VALID within {timeout:.0f} s")


def check_compute_environment(clients: AwsClients, name: str) -> dict[str, Any]:
    """The compute environment must exist, be ECS-orchestrated, VALID and ENABLED."""
    found = _call(
        "DescribeComputeEnvironments",
        clients.batch.describe_compute_environments,
        computeEnvironments=[name],
    )["computeEnvironments"]
    if not found:
        raise ConfigurationError(
            f"compute environment {name!r} not found in {clients.target.describe()}; "
            "run `batchmagic setup` or fix --compute-environment"
        )
    ce: dict[str, Any] = found[0]
    if ce.get("containerOrchestrationType", "ECS") != "ECS":
        raise ConfigurationError(
            f"compute environment {name!r} is EKS-orchestrated; use an ECS one"
        )
    if ce.get("state") != "ENABLED":
        raise ConfigurationError(f"compute environment {name!r} is DISABLED; enable it first")
    return _wait_valid(
        lambda: _call("DescribeComputeEnvironments", clients.batch.describe_compute_environments,
                      computeEnvironments=[name])["computeEnvironments"][0],
        f"compute environment {name!r}",
    )


def _describe_queue(clients: AwsClients, name: str) -> dict[str, Any] | None:
    found = _call("DescribeJobQueues", clients.batch.describe_job_queues, jobQueues=[name])
    queues: list[dict[str, Any]] = found["jobQueues"]
    return queues[0] if queues else None


def resolve_queue(clients: AwsClients, settings: Settings) -> str:
    """The job queue's ARN: the configured one, else one created once for the compute environment
    and reused (creating a queue per run, as the reference runner does, costs seconds each time).
    """
    endpoint = clients.target.endpoint_url or clients.target.region
    if settings.queue:
        cached = _cached("queue", f"{endpoint}|{settings.queue}")
        if cached:
            return cached
        queue = _describe_queue(clients, settings.queue)
        if queue is None:
            names = sorted(q["jobQueueName"] for q in _call(
                "DescribeJobQueues", clients.batch.describe_job_queues).get("jobQueues", []))
            there = f"queues there: {', '.join(names)}" if names else "there is no queue there"
            raise ConfigurationError(
                f"job queue {settings.queue!r} not found in {clients.target.describe()} "
                f"({there}); run `batchmagic setup` or fix --queue"
            )
        if queue.get("state") != "ENABLED":
            raise ConfigurationError(f"job queue {settings.queue!r} is DISABLED; enable it first")
        return _remember("queue", f"{endpoint}|{settings.queue}", queue["jobQueueArn"])
    if not settings.compute_environment:
        raise ConfigurationError(
            "no job queue or compute environment configured: run `batchmagic setup`, pass "
            "--queue / --compute-environment, or use --local for the embedded emulator"
        )
    key = f"{endpoint}|ce:{settings.compute_environment}"
    cached = _cached("queue", key)
    if cached:
        return cached
    ce = check_compute_environment(clients, settings.compute_environment)
    name = f"{ce['computeEnvironmentName']}-batchmagic"[:128]
    if _describe_queue(clients, name) is None:
        _call(
            "CreateJobQueue",
            clients.batch.create_job_queue,
            jobQueueName=name,
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[
                {"order": 1, "computeEnvironment": ce["computeEnvironmentArn"]}
            ],
            tags=dict(MANAGED_TAG),
        )
    queue = _wait_valid(lambda: _describe_queue(clients, name) or {}, f"job queue {name!r}")
    return _remember("queue", key, queue["jobQueueArn"])


def ensure_bucket(clients: AwsClients, bucket: str) -> None:
    """The bucket exists and is reachable: checked once per kernel, with a clear error."""
    key = f"{clients.target.endpoint_url or clients.target.region}|{bucket}"
    if _cached("bucket", key) is None:
        check_bucket(clients, bucket)
        _remember("bucket", key, bucket)


def ensure_job_definition(clients: AwsClients, payload: dict[str, Any]) -> str:
    """Register the job definition once: its name is a hash of its content, so an ACTIVE one with
    that name is exactly this definition and is reused instead of adding a revision per run."""
    name = payload["jobDefinitionName"]
    endpoint = clients.target.endpoint_url or clients.target.region
    cached = _cached("jobdef", f"{endpoint}|{name}")
    if cached:
        return cached
    found = _call(
        "DescribeJobDefinitions",
        clients.batch.describe_job_definitions,
        jobDefinitionName=name,
        status="ACTIVE",
    )["jobDefinitions"]
    if found:
        arn = max(found, key=lambda d: d["revision"])["jobDefinitionArn"]
    else:
        with aws_errors("RegisterJobDefinition", SubmissionError):
            arn = clients.batch.register_job_definition(**payload)["jobDefinitionArn"]
    return _remember("jobdef", f"{endpoint}|{name}", arn)

"""AWS-shaped ClientException errors for requests AWS Batch rejects."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers import EXECUTION_ROLE, container, ecs_definition, single_definition, unique


def rejected(call: Any, **kwargs: Any) -> str:
    """Call, expect a ClientException (HTTP 400), return its message."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    error = info.value.response["Error"]
    assert error["Code"] == "ClientException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(error["Message"])


def register(batch: Any, containers: list[dict[str, Any]], **task: Any) -> str:
    return rejected(batch.register_job_definition, jobDefinitionName=unique("bad"),
                    type="container", platformCapabilities=["FARGATE"],
                    ecsProperties={"taskProperties": [{"executionRoleArn": EXECUTION_ROLE,
                                                       "containers": containers, **task}]})


def test_at_least_one_essential_container(batch: Any) -> None:
    message = register(batch, [container("a", ["true"], essential=False)])
    assert message == "At least one container in the task must be essential."


def test_depends_on_an_unknown_container(batch: Any) -> None:
    message = register(batch, [container("a", ["true"], dependsOn=[
        {"containerName": "ghost", "condition": "START"}])])
    assert "depends on container ghost, which is not defined" in message


def test_complete_or_success_never_on_an_essential_container(batch: Any) -> None:
    message = register(batch, [
        container("a", ["true"]),
        container("b", ["true"], dependsOn=[{"containerName": "a", "condition": "COMPLETE"}]),
    ])
    assert "COMPLETE and SUCCESS dependencies cannot be on an essential container" in message


def test_dependency_cycle(batch: Any) -> None:
    message = register(batch, [
        container("a", ["true"], essential=False,
                  dependsOn=[{"containerName": "b", "condition": "START"}]),
        container("b", ["true"], dependsOn=[{"containerName": "a", "condition": "START"}]),
    ])
    assert "Container dependencies form a cycle" in message


def test_fargate_needs_an_execution_role(batch: Any) -> None:
    message = rejected(batch.register_job_definition, jobDefinitionName=unique("bad"),
                       type="container", platformCapabilities=["FARGATE"],
                       ecsProperties={"taskProperties": [
                           {"containers": [container("a", ["true"])]}]})
    assert message == "Fargate job definitions require an executionRoleArn."


@pytest.mark.parametrize(("vcpu", "memory"), [("0.25", "4096"), ("1", "1024"),
                                              ("3", "8192"), ("8", "18432")])
def test_fargate_sizes(batch: Any, vcpu: str, memory: str) -> None:
    message = register(batch, [container("a", ["true"], vcpu, memory)])
    assert "is not a supported Fargate task size" in message


def test_valid_fargate_sum_over_containers(batch: Any) -> None:
    ecs_definition(batch, [container("a", ["true"], "0.5", "1024", essential=False),
                           container("b", ["true"], "0.5", "1024")])


@pytest.mark.parametrize("name", ["has space", "x" * 129, "dot.name"])
def test_bad_resource_names(batch: Any, name: str) -> None:
    message = rejected(batch.create_compute_environment, computeEnvironmentName=name,
                       type="UNMANAGED")
    assert "Compute environment name should match valid pattern" in message
    message = rejected(batch.create_job_queue, jobQueueName=name, priority=1,
                       computeEnvironmentOrder=[])
    assert "Job queue name should match valid pattern" in message


@pytest.mark.parametrize("name", ["-starts-with-hyphen", "_under", "x" * 129, "a/b"])
def test_bad_job_names(batch: Any, queue: str, name: str) -> None:
    definition = single_definition(batch, ["true"])
    message = rejected(batch.submit_job, jobName=name, jobQueue=queue, jobDefinition=definition)
    assert "Job name should match valid pattern" in message


def test_unknown_queue_and_definition(batch: Any, queue: str) -> None:
    definition = single_definition(batch, ["true"])
    assert rejected(batch.submit_job, jobName="j", jobQueue="no-such-queue",
                    jobDefinition=definition) == "JobQueue no-such-queue not found."
    assert rejected(batch.submit_job, jobName="j", jobQueue=queue,
                    jobDefinition="no-such-def") == (
        "JobDefinition name no-such-def does not exist or is not in ACTIVE status")
    assert rejected(batch.submit_job, jobName="j", jobQueue=queue,
                    jobDefinition=f"{definition}:99") == f"JobDefinition {definition}:99 not found."
    batch.deregister_job_definition(jobDefinition=f"{definition}:1")
    assert "does not exist or is not in ACTIVE status" in rejected(
        batch.submit_job, jobName="j", jobQueue=queue, jobDefinition=definition)


def test_disabled_queue_rejects_jobs_and_only_disabled_queues_can_be_deleted(
        batch: Any) -> None:
    from tests.helpers import make_queue, wait_for

    queue = make_queue(batch)
    assert "not in DISABLED state" in rejected(batch.delete_job_queue, jobQueue=queue)
    batch.update_job_queue(jobQueue=queue, state="DISABLED")
    definition = single_definition(batch, ["true"])
    assert rejected(batch.submit_job, jobName="j", jobQueue=queue,
                    jobDefinition=definition) == f"JobQueue {queue} is not in ENABLED state."
    batch.delete_job_queue(jobQueue=queue)
    wait_for(lambda: not batch.describe_job_queues(jobQueues=[queue])["jobQueues"])


def test_array_size_and_override_names(batch: Any, queue: str) -> None:
    definition = single_definition(batch, ["true"])
    assert "between 2 and 10,000" in rejected(
        batch.submit_job, jobName="j", jobQueue=queue, jobDefinition=definition,
        arrayProperties={"size": 1})
    multi = ecs_definition(batch, [container("main", ["true"])])
    assert "names container other" in rejected(
        batch.submit_job, jobName="j", jobQueue=queue, jobDefinition=multi,
        ecsPropertiesOverride={"taskProperties": [{"containers": [
            {"name": "other", "command": ["x"]}]}]})


def test_duplicate_names(batch: Any) -> None:
    name = unique("ce")
    batch.create_compute_environment(computeEnvironmentName=name, type="UNMANAGED")
    assert "Object already exists" in rejected(
        batch.create_compute_environment, computeEnvironmentName=name, type="UNMANAGED")

"""The emulator refuses what AWS refuses: each rule of the README's rules table, through boto3
and through the `aws` CLI (an independent client), with the message AWS gives where known."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.helpers import (
    EC2_RESOURCES,
    EXECUTION_ROLE,
    FARGATE_RESOURCES,
    REGION,
    aws_cli,
    make_environment,
    make_queue,
    unique,
    wait_for,
    wait_job,
)


@dataclass
class World:
    """What the refused requests refer to: queues and definitions of both platforms."""

    fargate_queue: str
    ec2_queue: str
    fargate_definition: str
    ec2_definition: str
    fargate_environment: str
    ec2_environment: str


def fargate_task(containers: list[dict[str, Any]], **task: Any) -> dict[str, Any]:
    return {"jobDefinitionName": unique("jd"), "type": "container",
            "platformCapabilities": ["FARGATE"],
            "ecsProperties": {"taskProperties": [{"executionRoleArn": EXECUTION_ROLE,
                                                  "containers": containers, **task}]}}


def ec2_task(containers: list[dict[str, Any]], **task: Any) -> dict[str, Any]:
    return {"jobDefinitionName": unique("jd"), "type": "container",
            "platformCapabilities": ["EC2"],
            "ecsProperties": {"taskProperties": [{"containers": containers, **task}]}}


def box(name: str = "main", vcpu: str = "0.25", memory: str = "512",
        **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "python:3.11", "command": ["python", "-c", "print(1)"],
            "resourceRequirements": [{"type": "VCPU", "value": vcpu},
                                     {"type": "MEMORY", "value": memory}], **extra}


def ec2_single(command: list[str]) -> dict[str, Any]:
    return {"jobDefinitionName": unique("jd"), "type": "container",
            "platformCapabilities": ["EC2"],
            "containerProperties": {"image": "python:3.11", "command": command,
                                    "resourceRequirements": [
                                        {"type": "VCPU", "value": "1"},
                                        {"type": "MEMORY", "value": "512"}]}}


@pytest.fixture(scope="module")
def world(batch: Any) -> World:
    fargate_definition = fargate_task([box()])
    batch.register_job_definition(**fargate_definition)
    ec2_definition = ec2_single(["python", "-c", "print('ec2')"])
    batch.register_job_definition(**ec2_definition)
    return World(fargate_queue=make_queue(batch), ec2_queue=make_queue(batch, EC2_RESOURCES),
                 fargate_definition=fargate_definition["jobDefinitionName"],
                 ec2_definition=ec2_definition["jobDefinitionName"],
                 fargate_environment=make_environment(batch),
                 ec2_environment=make_environment(batch, EC2_RESOURCES))


def submit(queue: str, definition: str, **extra: Any) -> dict[str, Any]:
    return {"jobName": unique("job"), "jobQueue": queue, "jobDefinition": definition, **extra}


def env_override(name: str, value: str) -> dict[str, Any]:
    """An environment override for the main container of an ecsProperties job."""
    return {"ecsPropertiesOverride": {"taskProperties": [{"containers": [
        {"name": "main", "environment": [{"name": name, "value": value}]}]}]}}


def order(*environments: str) -> list[dict[str, Any]]:
    return [{"order": i + 1, "computeEnvironment": e} for i, e in enumerate(environments)]


def creating_environment(batch: Any) -> str:
    """A compute environment just created, that stays CREATING for a while (the CLI takes
    longer to start than the emulator's usual provisioning delay)."""
    from batchmagic.emulator import resources

    name, usual = unique("ce"), resources.PROVISIONING_DELAY_S
    resources.PROVISIONING_DELAY_S = 30.0
    try:
        batch.create_compute_environment(computeEnvironmentName=name, type="MANAGED",
                                         computeResources=FARGATE_RESOURCES)
    finally:
        resources.PROVISIONING_DELAY_S = usual
    return name


Params = Callable[[World, Any], dict[str, Any]]
# (rule, operation, request built from the world, what the refusal says)
REFUSALS: list[tuple[str, str, Params, str]] = [
    ("tag value charset", "register_job_definition",
     lambda w, b: {**fargate_task([box()]), "tags": {"outputs": "*.csv,*.parquet"}},
     "Map values must satisfy constraint"),
    ("tag value length", "submit_job",
     lambda w, b: submit(w.fargate_queue, w.fargate_definition, tags={"k": "v" * 257}),
     "Member must have length less than or equal to 256"),
    ("tag key length", "submit_job",
     lambda w, b: submit(w.fargate_queue, w.fargate_definition, tags={"k" * 129: "v"}),
     "Map keys must satisfy constraint"),
    ("tag count", "submit_job",
     lambda w, b: submit(w.fargate_queue, w.fargate_definition,
                         tags={f"k{i}": "v" for i in range(51)}),
     "Member must have length less than or equal to 50"),
    ("aws: tag keys", "create_job_queue",
     lambda w, b: {"jobQueueName": unique("q"), "priority": 1,
                   "computeEnvironmentOrder": order(w.fargate_environment),
                   "tags": {"aws:owner": "me"}},
     "reserved for AWS use"),
    ("EC2 VCPU 1.0", "register_job_definition",
     lambda w, b: ec2_task([box(vcpu="1.0")]),
     "Value 1.0 for type VCPU in resourceRequirement is not valid. Please provide a numeric "
     "value."),
    ("EC2 fractional VCPU in a sidecar", "register_job_definition",
     lambda w, b: ec2_task([box("stage-in", vcpu="0.125", essential=False), box(vcpu="1")]),
     "Value 0.125 for type VCPU in resourceRequirement is not valid."),
    ("EC2 fractional VCPU in an override", "submit_job",
     lambda w, b: submit(w.ec2_queue, w.ec2_definition, containerOverrides={
         "resourceRequirements": [{"type": "VCPU", "value": "0.5"}]}),
     "Value 0.5 for type VCPU in resourceRequirement is not valid."),
    ("AWS_BATCH environment names", "submit_job",
     lambda w, b: submit(w.fargate_queue, w.fargate_definition,
                         **env_override("AWS_BATCH_JOB_ID", "mine")),
     "names cannot start with AWS_BATCH"),
    ("SubmitJob of 30 KiB", "submit_job",
     lambda w, b: submit(w.fargate_queue, w.fargate_definition,
                         **env_override("BIG", "x" * 31_000)),
     "Job size must be less than 30 KiB, got 31 KiB"),
    ("mount point naming no volume", "register_job_definition",
     lambda w, b: fargate_task([box(mountPoints=[{"sourceVolume": "work",
                                                  "containerPath": "/work"}])]),
     "mount point sourceVolume work does not name a volume"),
    ("host volume on Fargate", "register_job_definition",
     lambda w, b: fargate_task([box()], volumes=[{"name": "work",
                                                  "host": {"sourcePath": "/tmp"}}]),
     "host volumes are not supported for jobs that run on Fargate resources"),
    ("networkConfiguration on EC2", "register_job_definition",
     lambda w, b: ec2_task([box(vcpu="1")],
                           networkConfiguration={"assignPublicIp": "ENABLED"}),
     "networkConfiguration is only supported for jobs that run on Fargate"),
    ("ephemeralStorage 20 GiB", "register_job_definition",
     lambda w, b: fargate_task([box()], ephemeralStorage={"sizeInGiB": 20}),
     "sizeInGiB must be between 21 and 200, got 20"),
    ("ephemeralStorage 201 GiB", "register_job_definition",
     lambda w, b: fargate_task([box()], ephemeralStorage={"sizeInGiB": 201}),
     "sizeInGiB must be between 21 and 200, got 201"),
    ("ephemeralStorage on EC2", "register_job_definition",
     lambda w, b: ec2_task([box(vcpu="1")], ephemeralStorage={"sizeInGiB": 30}),
     "ephemeralStorage is only supported for jobs that run on Fargate"),
    ("Fargate environment without security groups", "create_compute_environment",
     lambda w, b: {"computeEnvironmentName": unique("ce"), "type": "MANAGED",
                   "computeResources": {"type": "FARGATE", "maxvCpus": 4,
                                        "subnets": ["subnet-1"]}},
     "securityGroupIds is required for Fargate compute environments"),
    ("EC2-only members on Fargate", "create_compute_environment",
     lambda w, b: {"computeEnvironmentName": unique("ce"), "type": "MANAGED",
                   "computeResources": {**FARGATE_RESOURCES, "minvCpus": 0,
                                        "instanceRole": "ecsInstanceRole"}},
     "minvCpus, instanceRole cannot be specified for Fargate compute environments"),
    ("EC2 environment without an instance role", "create_compute_environment",
     lambda w, b: {"computeEnvironmentName": unique("ce"), "type": "MANAGED",
                   "computeResources": {"type": "EC2", "maxvCpus": 4, "subnets": ["s-1"],
                                        "securityGroupIds": ["sg-1"]}},
     "instanceRole is required for EC2 and SPOT compute environments"),
    ("queue on an environment that is not VALID yet", "create_job_queue",
     lambda w, b: {"jobQueueName": unique("q"), "priority": 1,
                   "computeEnvironmentOrder": order(creating_environment(b))},
     "is not in VALID status (it is CREATING)"),
    ("queue with four environments", "create_job_queue",
     lambda w, b: {"jobQueueName": unique("q"), "priority": 1,
                   "computeEnvironmentOrder": order(*[w.fargate_environment] * 4)},
     "at most 3 compute environments, got 4"),
    ("queue mixing EC2 and Fargate", "create_job_queue",
     lambda w, b: {"jobQueueName": unique("q"), "priority": 1,
                   "computeEnvironmentOrder": order(w.fargate_environment,
                                                    w.ec2_environment)},
     "EC2 and Fargate compute environments can't be mixed"),
    ("jobQueueType that does not match", "create_job_queue",
     lambda w, b: {"jobQueueName": unique("q"), "priority": 1, "jobQueueType": "ECS",
                   "computeEnvironmentOrder": order(w.fargate_environment)},
     "jobQueueType ECS does not match the compute environments of the queue (ECS_FARGATE)"),
]


@pytest.mark.parametrize(("rule", "operation", "params", "message"), REFUSALS,
                         ids=[case[0] for case in REFUSALS])
def test_boto3_is_refused(batch: Any, world: World, rule: str, operation: str,
                          params: Params, message: str) -> None:
    with pytest.raises(ClientError) as info:
        getattr(batch, operation)(**params(world, batch))
    error = info.value.response["Error"]
    assert error["Code"] == "ClientException", rule
    assert message in error["Message"]


@pytest.mark.parametrize(("rule", "operation", "params", "message"), REFUSALS,
                         ids=[case[0] for case in REFUSALS])
def test_aws_cli_is_refused(emulator_url: str, batch: Any, world: World, rule: str,
                            operation: str, params: Params, message: str) -> None:
    result = aws_cli(emulator_url, "batch", operation.replace("_", "-"), "--cli-input-json",
                     json.dumps(params(world, batch)))
    assert result.returncode != 0, rule
    assert "(ClientException)" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("missing", ["maxvCpus", "subnets"])
def test_managed_environment_needs_max_vcpus_and_subnets(emulator_url: str,
                                                         missing: str) -> None:
    """botocore and the CLI refuse these before sending; the emulator refuses them too."""
    resources = {k: v for k, v in FARGATE_RESOURCES.items() if k != missing}
    request = {"computeEnvironmentName": unique("ce"), "type": "MANAGED",
               "computeResources": resources}
    unchecked = boto3.client("batch", endpoint_url=emulator_url, region_name=REGION,
                             aws_access_key_id="test", aws_secret_access_key="test",
                             config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as info:
        unchecked.create_compute_environment(**request)
    assert f"computeResources.{missing} is required" in info.value.response["Error"]["Message"]
    result = aws_cli(emulator_url, "batch", "create-compute-environment", "--cli-input-json",
                     json.dumps(request))
    # The CLI checks some required members itself; either way the request is refused.
    assert result.returncode != 0
    assert ("Missing required parameter" in result.stderr
            or f"computeResources.{missing} is required" in result.stderr)


def test_queue_types_follow_their_environments(batch: Any, world: World) -> None:
    described = batch.describe_job_queues(jobQueues=[world.fargate_queue, world.ec2_queue])
    types = {q["jobQueueName"]: q["jobQueueType"] for q in described["jobQueues"]}
    assert types == {world.fargate_queue: "ECS_FARGATE", world.ec2_queue: "ECS"}


def test_whole_ec2_vcpus_run(batch: Any, world: World) -> None:
    job_id = batch.submit_job(**submit(world.ec2_queue, world.ec2_definition, containerOverrides={
        "resourceRequirements": [{"type": "VCPU", "value": "2"}]}))["jobId"]
    assert wait_job(batch, job_id)["status"] == "SUCCEEDED"


def _submit_both_ways(emulator_url: str, batch: Any, request: dict[str, Any]) -> list[str]:
    """Submit the same job with boto3 and with the CLI; their job ids."""
    first = batch.submit_job(**request)["jobId"]
    result = aws_cli(emulator_url, "batch", "submit-job", "--cli-input-json",
                     json.dumps({**request, "jobName": unique("cli")}))
    assert result.returncode == 0, result.stderr
    return [first, json.loads(result.stdout)["jobId"]]


def test_overrides_over_8192_characters_fail_the_job(emulator_url: str, batch: Any,
                                                     world: World) -> None:
    # Under 30 KiB, so SubmitJob accepts it; ECS then refuses the task's overrides.
    request = submit(world.fargate_queue, world.fargate_definition,
                     **env_override("LONG", "x" * 8_200))
    for job_id in _submit_both_ways(emulator_url, batch, request):
        job = wait_job(batch, job_id)
        assert job["status"] == "FAILED"
        assert job["statusReason"] == "Container Overrides length must be at most 8192"
        assert job["attempts"] == []
    fits = submit(world.fargate_queue, world.fargate_definition,
                  **env_override("LONG", "x" * 8_000))
    assert wait_job(batch, batch.submit_job(**fits)["jobId"])["status"] == "SUCCEEDED"


def test_more_than_50_propagated_tags_fail_the_job(emulator_url: str, batch: Any,
                                                   world: World) -> None:
    definition = fargate_task([box()])
    batch.register_job_definition(**definition, tags={f"d{i}": "v" for i in range(30)})
    name = definition["jobDefinitionName"]
    request = submit(world.fargate_queue, name, tags={f"j{i}": "v" for i in range(30)},
                     propagateTags=True)
    for job_id in _submit_both_ways(emulator_url, batch, request):
        job = wait_job(batch, job_id)
        assert job["status"] == "FAILED"
        assert "is over 50" in job["statusReason"]
    kept = {**request, "jobName": unique("job"), "propagateTags": False}
    assert wait_job(batch, batch.submit_job(**kept)["jobId"])["status"] == "SUCCEEDED"


def test_a_fargate_job_on_an_ec2_queue_stays_runnable(emulator_url: str, batch: Any,
                                                      world: World) -> None:
    request = submit(world.ec2_queue, world.fargate_definition)
    for job_id in _submit_both_ways(emulator_url, batch, request):
        job = wait_for(lambda jid=job_id: (lambda j: j if j.get("statusReason") else None)(
            batch.describe_jobs(jobs=[jid])["jobs"][0]))
        assert job["status"] == "RUNNABLE"
        assert job["statusReason"].startswith("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT")
        batch.terminate_job(jobId=job_id, reason="test over")
        assert wait_job(batch, job_id)["status"] == "FAILED"


def test_a_queue_of_mixed_architectures_goes_invalid(emulator_url: str, batch: Any,
                                                     world: World) -> None:
    # Accepted, then INVALID (botocore ComputeEnvironmentOrder: "must share the same
    # architecture"); its jobs wait until it is VALID again.
    arm = make_environment(batch, {**EC2_RESOURCES, "instanceTypes": ["m6g", "c7g.large"]})
    mixed = order(world.ec2_environment, arm)
    by_boto3, by_cli = unique("q"), unique("q")
    batch.create_job_queue(jobQueueName=by_boto3, priority=1, computeEnvironmentOrder=mixed)
    result = aws_cli(emulator_url, "batch", "create-job-queue", "--cli-input-json", json.dumps(
        {"jobQueueName": by_cli, "priority": 1, "computeEnvironmentOrder": mixed}))
    assert result.returncode == 0, result.stderr
    for queue in (by_boto3, by_cli):
        detail = wait_for(lambda q=queue: (lambda d: d if d["status"] != "CREATING" else None)(
            batch.describe_job_queues(jobQueues=[q])["jobQueues"][0]))
        assert detail["status"] == "INVALID"
        assert detail["statusReason"] == (
            f"CLIENT_ERROR - The compute environments of job queue {queue} do not share one "
            "architecture (arm64, x86_64).")
    job_id = batch.submit_job(**submit(by_boto3, world.ec2_definition))["jobId"]
    wait_job(batch, job_id, ("RUNNABLE",))
    time.sleep(1)  # a VALID queue would have started it by now
    assert batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] == "RUNNABLE"
    batch.update_job_queue(jobQueue=by_boto3, computeEnvironmentOrder=order(arm))
    assert wait_job(batch, job_id)["status"] == "SUCCEEDED"
    assert batch.describe_job_queues(jobQueues=[by_boto3])["jobQueues"][0]["status"] == "VALID"

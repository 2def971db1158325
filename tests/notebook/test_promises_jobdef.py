"""What a run registers and submits, read back from the emulator: one job definition revision
across runs; --image, --ephemeral-storage and the roles in the submitted job."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from batchmagic.aws import resolve
from batchmagic.aws.clients import AwsClients

IMAGE = "public.ecr.aws/docker/library/python:{tag}"


def _definition_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]


def _job(clients: AwsClients, job_id: str) -> dict[str, Any]:
    (job,) = clients.batch.describe_jobs(jobs=[job_id])["jobs"]
    return dict(job)


def test_the_job_definition_is_registered_once_across_runs(
        ip: Any, local_clients: AwsClients, monkeypatch: pytest.MonkeyPatch) -> None:
    # A tag no other test uses: this test's definition starts with no revision at all.
    image = IMAGE.format(tag=f"3.11-slim-{uuid.uuid4().hex[:6]}")
    first = ip.run_cell_magic("aws_batch", f"--local --image {image}", "pass")
    monkeypatch.setattr(resolve, "_cache", {})  # a new kernel remembers nothing
    second = ip.run_cell_magic("aws_batch", f"--local --image {image}", "pass")
    arn = _job(local_clients, first.job_id)["jobDefinition"]
    assert _job(local_clients, second.job_id)["jobDefinition"] == arn
    name = _definition_name(arn)
    revisions = local_clients.batch.describe_job_definitions(
        jobDefinitionName=name)["jobDefinitions"]
    assert [d["revision"] for d in revisions] == [1]

    other = ip.run_cell_magic("aws_batch", f"--local --image {image}-other", "pass")
    assert _definition_name(_job(local_clients, other.job_id)["jobDefinition"]) != name


def test_image_and_ephemeral_storage_reach_the_submitted_job(
        ip: Any, local_clients: AwsClients) -> None:
    image = IMAGE.format(tag="3.11")
    run = ip.run_cell_magic("aws_batch", f"--local --image {image} --ephemeral-storage 40",
                            "pass")
    (properties,) = _job(local_clients, run.job_id)["ecsProperties"]["taskProperties"]
    assert properties["ephemeralStorage"] == {"sizeInGiB": 40}
    main = next(c for c in properties["containers"] if c["name"] == "main")
    assert main["image"] == image


def test_roles_given_on_the_cell_reach_the_submitted_job(
        ip: Any, local_clients: AwsClients, monkeypatch: pytest.MonkeyPatch) -> None:
    # --local takes the emulator's own setup roles; an endpoint given with --endpoint-url is
    # used as any AWS endpoint, with the cell's roles.
    from batchmagic.provision.setup import ensure_setup

    suffix = uuid.uuid4().hex[:8]
    ready = ensure_setup(local_clients, name=f"r{suffix}", region="us-east-1").settings
    execution, task = (_role(local_clients, f"{kind}-{suffix}") for kind in ("exec", "task"))
    url = local_clients.target.endpoint_url
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # the emulator takes any key
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    run = ip.run_cell_magic(
        "aws_batch", f"--endpoint-url {url} --region us-east-1 --bucket {ready['bucket']} "
        f"--queue {ready['queue']} --execution-role {execution} --task-role {task}", "pass")
    (properties,) = _job(local_clients, run.job_id)["ecsProperties"]["taskProperties"]
    assert (properties["executionRoleArn"], properties["taskRoleArn"]) == (execution, task)


def _role(clients: AwsClients, name: str) -> str:
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    return str(clients.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
        trust))["Role"]["Arn"])

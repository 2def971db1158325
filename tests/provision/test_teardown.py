"""`batchmagic teardown` against the emulator: removes only what setup tagged as its own."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from batchmagic.aws.clients import AwsClients
from batchmagic.cli import main
from batchmagic.provision import resources as res
from batchmagic.provision.setup import ensure_setup
from batchmagic.settings import LOG_GROUP


def _queues(clients: AwsClients) -> dict[str, dict[str, str]]:
    return {q["jobQueueName"]: q for q in clients.batch.describe_job_queues()["jobQueues"]}


def _untagged(clients: AwsClients, name: str) -> None:
    """A role, compute environment, queue and bucket someone else made, named like ours."""
    clients.iam.create_role(RoleName=f"{name}-mine",
                            AssumeRolePolicyDocument=res.trust_policy(res.ECS_TASKS))
    vpc = clients.ec2.describe_vpcs(
        Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in clients.ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    group = _default_group(clients, vpc)
    ce = clients.batch.create_compute_environment(
        computeEnvironmentName=f"{name}-mine", type="MANAGED",
        computeResources={"type": "FARGATE", "maxvCpus": 4, "subnets": subnets,
                          "securityGroupIds": [group]})["computeEnvironmentArn"]
    _wait(lambda: clients.batch.describe_compute_environments(
        computeEnvironments=[ce])["computeEnvironments"][0]["status"] == "VALID")
    clients.batch.create_job_queue(jobQueueName=f"{name}-mine", priority=1,
                                   computeEnvironmentOrder=[{"order": 1,
                                                             "computeEnvironment": ce}])
    clients.s3.create_bucket(Bucket=f"{name}-mine")


def _default_group(clients: AwsClients, vpc: str) -> str:
    groups = clients.ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}])
    return str(groups["SecurityGroups"][0]["GroupId"])


def _wait(done: object) -> None:
    import time

    deadline = time.monotonic() + 30
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_teardown_removes_only_what_setup_made(
        clients: AwsClients, name: str, config: Path, emulator_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    _untagged(clients, name)
    assert main(["setup", "--name", name, "--endpoint-url", emulator_url,
                 "--platform", "ec2"]) == 0
    bucket = json.loads(config.read_text())["bucket"]
    clients.s3.put_object(Bucket=bucket, Key="batchmagic/u/r/out/x.txt", Body=b"x")
    capsys.readouterr()

    assert main(["teardown", "--name", name, "--yes", "--delete-bucket"]) == 0
    out = capsys.readouterr().out
    assert f"deleted{' ' * 7}job queue" in out

    roles = {r["RoleName"] for r in clients.iam.list_roles()["Roles"]}
    assert {f"{name}-execution", f"{name}-task", f"{name}-ecs-instance"}.isdisjoint(roles)
    assert f"{name}-mine" in roles
    profiles = {p["InstanceProfileName"]
                for p in clients.iam.list_instance_profiles()["InstanceProfiles"]}
    assert f"{name}-ecs-instance" not in profiles

    _wait(lambda: f"{name}-queue" not in _queues(clients))
    queues = _queues(clients)
    assert queues[f"{name}-mine"]["state"] == "ENABLED"
    environments = {c["computeEnvironmentName"] for c in
                    clients.batch.describe_compute_environments()["computeEnvironments"]}
    assert f"{name}-ec2" not in environments
    assert f"{name}-mine" in environments
    groups = clients.ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{name}-jobs"]}])["SecurityGroups"]
    assert groups == []
    buckets = {b["Name"] for b in clients.s3.list_buckets()["Buckets"]}
    assert bucket not in buckets
    assert f"{name}-mine" in buckets
    # The shared log group stays.
    assert clients.logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]

    capsys.readouterr()
    assert main(["teardown", "--name", name, "--yes"]) == 0
    assert "Nothing to remove" in capsys.readouterr().out


def test_teardown_keeps_the_bucket_by_default(
        clients: AwsClients, name: str, config: Path, emulator_url: str) -> None:
    assert main(["setup", "--name", name, "--endpoint-url", emulator_url]) == 0
    bucket = json.loads(config.read_text())["bucket"]
    assert main(["teardown", "--name", name, "--yes"]) == 0
    assert bucket in {b["Name"] for b in clients.s3.list_buckets()["Buckets"]}


def test_teardown_without_an_answer_aborts(
        clients: AwsClients, name: str, config: Path, emulator_url: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    ensure_setup(clients, name=name, region="us-east-1")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["teardown", "--name", name, "--endpoint-url", emulator_url]) == 1
    out = capsys.readouterr().out
    assert "would delete" in out
    assert "Aborted: nothing was deleted." in out
    assert clients.iam.get_role(RoleName=f"{name}-execution")["Role"]
    assert _queues(clients)[f"{name}-queue"]["state"] == "ENABLED"


def test_teardown_answer_no_aborts(
        clients: AwsClients, name: str, config: Path, emulator_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_setup(clients, name=name, region="us-east-1")
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert main(["teardown", "--name", name, "--endpoint-url", emulator_url]) == 1
    assert clients.iam.get_role(RoleName=f"{name}-task")["Role"]


def test_teardown_deregisters_batchmagic_job_definitions(
        clients: AwsClients, name: str, config: Path, emulator_url: str) -> None:
    ensure_setup(clients, name=name, region="us-east-1")
    container = {"image": "python:3.11", "command": ["true"],
                 "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                          {"type": "MEMORY", "value": "2048"}]}
    ours = clients.batch.register_job_definition(
        jobDefinitionName=f"{name}-def", type="container", containerProperties=container,
        tags={res.TAG_MANAGED: "true"})["jobDefinitionArn"]
    theirs = clients.batch.register_job_definition(
        jobDefinitionName=f"{name}-theirs", type="container",
        containerProperties=container)["jobDefinitionArn"]
    assert main(["teardown", "--name", name, "--yes", "--endpoint-url", emulator_url]) == 0
    found = {d["jobDefinitionArn"]: d["status"] for d in clients.batch.describe_job_definitions(
        jobDefinitions=[ours, theirs])["jobDefinitions"]}
    assert found.get(ours, "INACTIVE") == "INACTIVE"
    assert found[theirs] == "ACTIVE"

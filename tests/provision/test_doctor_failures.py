"""Each of doctor's failures provoked for real on the emulator: the one check that fails, and
what it says. One setup serves every case; each case breaks something of its own (a name that
does not exist, a role, compute environment or queue made for it), so cases stay independent."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.provision.doctor import run_doctor
from batchmagic.provision.report import FAIL
from batchmagic.provision.setup import ensure_setup
from batchmagic.settings import LOG_GROUP, Settings
from tests.helpers import wait_for

ACCOUNT = "123456789012"
Breaks = Callable[[AwsClients, Settings, str], Settings]


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def ready(target: AwsTarget) -> tuple[AwsClients, Settings]:
    clients = AwsClients(target)
    result = ensure_setup(clients, name=_unique("d"), region=target.region or "us-east-1")
    return clients, Settings(**result.settings)


def _role_trusting(clients: AwsClients, service: str) -> str:
    name = _unique("role")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    return str(clients.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
        policy))["Role"]["Arn"])


def _valid(clients: AwsClients, ce: str) -> None:
    wait_for(lambda: clients.batch.describe_compute_environments(computeEnvironments=[ce])[
        "computeEnvironments"][0]["status"] == "VALID", timeout=30)


def _other_ce(clients: AwsClients, settings: Settings) -> str:
    """A FARGATE compute environment on the setup's subnets (so only what a case changes fails)."""
    (mine,) = clients.batch.describe_compute_environments(
        computeEnvironments=[str(settings.compute_environment)])["computeEnvironments"]
    ce = _unique("ce")
    resources = {k: v for k, v in mine["computeResources"].items()
                 if k in ("type", "maxvCpus", "subnets", "securityGroupIds")}
    clients.batch.create_compute_environment(computeEnvironmentName=ce, type="MANAGED",
                                             computeResources=resources)
    _valid(clients, ce)
    return ce


def _queue_on_another_ce(clients: AwsClients, settings: Settings, _: str) -> Settings:
    queue = _unique("q")
    clients.batch.create_job_queue(jobQueueName=queue, priority=1, computeEnvironmentOrder=[
        {"order": 1, "computeEnvironment": _other_ce(clients, settings)}])
    wait_for(lambda: clients.batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0][
        "status"] == "VALID", timeout=30)
    return replace(settings, queue=queue)


def _disabled_ce(clients: AwsClients, settings: Settings, _: str) -> Settings:
    ce = _other_ce(clients, settings)
    queue = _unique("q")
    clients.batch.create_job_queue(jobQueueName=queue, priority=1, computeEnvironmentOrder=[
        {"order": 1, "computeEnvironment": ce}])
    clients.batch.update_compute_environment(computeEnvironment=ce, state="DISABLED")
    _valid(clients, ce)
    return replace(settings, queue=queue, compute_environment=ce)


def _invalid_ce(clients: AwsClients, settings: Settings, unknown: str) -> Settings:
    # A service role that names no role: AWS accepts it, and the environment goes INVALID.
    ce = _other_ce(clients, settings)
    queue = _queue_on(clients, ce)
    clients.batch.update_compute_environment(
        computeEnvironment=ce, serviceRole=f"arn:aws:iam::{ACCOUNT}:role/{unknown}")
    wait_for(lambda: clients.batch.describe_compute_environments(computeEnvironments=[ce])[
        "computeEnvironments"][0]["status"] == "INVALID", timeout=30)
    return replace(settings, compute_environment=ce, queue=queue)


def _invalid_queue(clients: AwsClients, settings: Settings, _: str) -> Settings:
    # Two EC2 environments of different architectures: AWS accepts the queue, which goes
    # INVALID. The settings keep the setup's (valid) compute environment and platform.
    arm, x86 = (_ec2_ce(clients, settings, types) for types in (["default_arm64"], ["optimal"]))
    queue = _unique("q")
    clients.batch.create_job_queue(jobQueueName=queue, priority=1, computeEnvironmentOrder=[
        {"order": 1, "computeEnvironment": x86}, {"order": 2, "computeEnvironment": arm}])
    wait_for(lambda: clients.batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0][
        "status"] == "INVALID", timeout=30)
    return replace(settings, queue=queue)


def _ec2_ce(clients: AwsClients, settings: Settings, instance_types: list[str]) -> str:
    (mine,) = clients.batch.describe_compute_environments(
        computeEnvironments=[str(settings.compute_environment)])["computeEnvironments"]
    resources = {k: v for k, v in mine["computeResources"].items()
                 if k in ("maxvCpus", "subnets", "securityGroupIds")}
    ce = _unique("ce")
    clients.batch.create_compute_environment(
        computeEnvironmentName=ce, type="MANAGED", computeResources={
            **resources, "type": "EC2", "instanceTypes": instance_types,
            "instanceRole": f"arn:aws:iam::{ACCOUNT}:instance-profile/ecsInstanceRole"})
    _valid(clients, ce)
    return ce


def _queue_on(clients: AwsClients, ce: str) -> str:
    queue = _unique("q")
    clients.batch.create_job_queue(jobQueueName=queue, priority=1, computeEnvironmentOrder=[
        {"order": 1, "computeEnvironment": ce}])
    wait_for(lambda: clients.batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0][
        "status"] == "VALID", timeout=30)
    return queue


CASES: dict[str, tuple[Breaks, str, str]] = {
    "missing bucket": (lambda c, s, u: replace(s, bucket=u),
                       "bucket", "NoSuchBucket"),
    "missing queue": (lambda c, s, u: replace(s, queue=u),
                      "job queue", "job queue {u} does not exist"),
    "missing execution role": (
        lambda c, s, u: replace(s, execution_role=f"arn:aws:iam::{ACCOUNT}:role/{u}"),
        "execution role", "role {u} does not exist"),
    "missing task role": (
        lambda c, s, u: replace(s, task_role=f"arn:aws:iam::{ACCOUNT}:role/{u}"),
        "task role", "role {u} does not exist"),
    "role without the ecs-tasks trust": (
        lambda c, s, u: replace(s, task_role=_role_trusting(c, "ec2.amazonaws.com")),
        "task role", "does not trust ecs-tasks.amazonaws.com"),
    "queue on another compute environment": (
        _queue_on_another_ce, "job queue", "does not use compute environment"),
    "queue INVALID": (
        _invalid_queue, "job queue", "is INVALID: CLIENT_ERROR - The compute environments"),
    "compute environment DISABLED": (
        _disabled_ce, "compute environment", "is DISABLED"),
    "compute environment INVALID": (
        _invalid_ce, "compute environment", "is INVALID: CLIENT_ERROR - The service role"),
    "wrong platform": (lambda c, s, u: replace(s, platform="ec2", cpu=3, memory=6144),
                       "compute environment", "is FARGATE but platform is ec2"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_doctor_names_what_is_broken(ready: tuple[AwsClients, Settings], case: str) -> None:
    clients, settings = ready
    breaks, check, detail = CASES[case]
    u = _unique("missing")
    checks = run_doctor(clients, breaks(clients, settings, u))
    failed = {c.check: c for c in checks if c.status == FAIL}
    assert list(failed) == [check], [(c.check, c.status, c.detail) for c in checks]
    assert detail.format(u=u) in failed[check].detail
    assert failed[check].fix


def test_doctor_names_a_missing_log_group(target: AwsTarget) -> None:
    # The log group is the region's one; another region keeps the session's untouched.
    clients = AwsClients(AwsTarget(region="eu-north-1", endpoint_url=target.endpoint_url,
                                   emulator=True))
    result = ensure_setup(clients, name=_unique("d"), region="eu-north-1")
    clients.logs.delete_log_group(logGroupName=LOG_GROUP)
    checks = run_doctor(clients, Settings(**result.settings))
    failed: dict[str, Any] = {c.check: c for c in checks if c.status == FAIL}
    assert list(failed) == ["log group"], [(c.check, c.status, c.detail) for c in checks]
    assert failed["log group"].detail == f"log group {LOG_GROUP} does not exist"
    assert "batchmagic setup" in failed["log group"].fix

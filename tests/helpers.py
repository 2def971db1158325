"""Helpers shared by the test packages: clients over HTTP, queues, job definitions, polling,
and counts of what the local emulator holds (to prove that bad input submitted nothing)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from batchmagic.aws.clients import AwsClients

REGION = "us-east-1"
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
PY = sys.executable


def client(url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, every: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")


FARGATE_RESOURCES = {"type": "FARGATE", "maxvCpus": 16, "subnets": ["subnet-1"],
                     "securityGroupIds": ["sg-1"]}
EC2_RESOURCES = {"type": "EC2", "maxvCpus": 16, "subnets": ["subnet-1"],
                 "securityGroupIds": ["sg-1"], "instanceTypes": ["optimal"],
                 "instanceRole": "ecsInstanceRole"}


def make_environment(batch: Any, resources: dict[str, Any] | None = None,
                     **extra: Any) -> str:
    """A MANAGED compute environment (Fargate unless told), waited for until VALID: AWS only
    attaches VALID environments to queues. Returns its name."""
    ce = unique("ce")
    batch.create_compute_environment(computeEnvironmentName=ce, type="MANAGED",
                                     computeResources=resources or FARGATE_RESOURCES, **extra)
    wait_for(lambda: batch.describe_compute_environments(computeEnvironments=[ce])[
        "computeEnvironments"][0]["status"] == "VALID")
    return ce


def make_queue(batch: Any, resources: dict[str, Any] | None = None, *,
               max_vcpus: int = 16) -> str:
    """A compute environment (Fargate unless told) and an ENABLED queue, both VALID; returns
    the queue name. Jobs beyond ``max_vcpus`` vCPUs in use wait RUNNABLE, as on AWS."""
    ce = make_environment(batch, {**(resources or FARGATE_RESOURCES), "maxvCpus": max_vcpus})
    queue = unique("q")
    batch.create_job_queue(jobQueueName=queue, priority=1,
                           computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}])
    wait_for(lambda: batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]["status"]
             == "VALID")
    return queue


def wait_job(batch: Any, job_id: str, statuses: tuple[str, ...] = ("SUCCEEDED", "FAILED"),
             timeout: float = 60.0) -> dict[str, Any]:
    """The job once in one of ``statuses``. The bound is generous (a loaded machine starts the
    first official-Python-image job slowly, making its interpreter); it costs nothing when the
    job ends sooner."""
    def check() -> dict[str, Any] | None:
        job: dict[str, Any] = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        return job if job["status"] in statuses else None

    result: dict[str, Any] = wait_for(check, timeout)
    return result


def container(name: str, command: list[str], vcpu: str = "0.25", memory: str = "512",
              **extra: Any) -> dict[str, Any]:
    """An ecsProperties container (default 0.25 vCPU / 512 MiB) running ``command``."""
    return {"name": name, "image": "public.ecr.aws/docker/library/python:3.11-slim",
            "command": command,
            "resourceRequirements": [{"type": "VCPU", "value": vcpu},
                                     {"type": "MEMORY", "value": memory}], **extra}


def ecs_definition(batch: Any, containers: list[dict[str, Any]], *,
                   volumes: list[dict[str, Any]] | None = None, **extra: Any) -> str:
    name = unique("jd")
    batch.register_job_definition(
        jobDefinitionName=name, type="container", platformCapabilities=["FARGATE"],
        ecsProperties={"taskProperties": [{"executionRoleArn": EXECUTION_ROLE,
                                           "volumes": volumes or [], "containers": containers}]},
        **extra)
    return name


def single_definition(batch: Any, command: list[str], **extra: Any) -> str:
    name = unique("jd")
    batch.register_job_definition(
        jobDefinitionName=name, type="container", platformCapabilities=["FARGATE"],
        containerProperties={"image": "python:3.11", "command": command,
                             "executionRoleArn": EXECUTION_ROLE,
                             "resourceRequirements": [{"type": "VCPU", "value": "0.25"},
                                                      {"type": "MEMORY", "value": "512"}]},
        **extra)
    return name


def log_lines(logs: Any, stream: str, group: str = "/aws/batch/job") -> list[str]:
    events = logs.get_log_events(logGroupName=group, logStreamName=stream,
                                 startFromHead=True)["events"]
    return [e["message"] for e in events]


def group_alive(pgid: int) -> bool:
    """Whether any non-zombie process of this process group still exists."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def aws_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the `aws` CLI installed beside this Python against the emulator."""
    aws = str(Path(sys.executable).parent / "aws")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true"})
    return subprocess.run([aws, *args], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


def job_count(clients: AwsClients) -> int:
    """How many jobs the local emulator has seen, over all its queues."""
    total = 0
    queues = [queue for page in clients.batch.get_paginator("describe_job_queues").paginate()
              for queue in page["jobQueues"]]
    for queue in queues:
        for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED",
                       "FAILED"):
            pages = clients.batch.get_paginator("list_jobs").paginate(
                jobQueue=queue["jobQueueArn"], jobStatus=status)
            total += sum(len(page["jobSummaryList"]) for page in pages)
    return total


def key_count(clients: AwsClients, bucket: str, prefix: str = "") -> int:
    """How many objects a bucket holds (under ``prefix``), past ListObjectsV2's 1,000 a page."""
    pages = clients.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sum(page.get("KeyCount", 0) for page in pages)


def object_count(clients: AwsClients) -> int:
    return sum(key_count(clients, bucket["Name"])
               for bucket in clients.s3.list_buckets()["Buckets"])

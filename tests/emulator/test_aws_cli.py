"""The `aws` CLI as an independent client: the whole Batch flow without boto3 in the loop."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.helpers import EXECUTION_ROLE, PY, aws_cli, unique

MOUNT = [{"sourceVolume": "work", "containerPath": "/data"}]


def cli_json(url: str, *args: str) -> Any:
    result = aws_cli(url, *args, "--output", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_three_container_job_with_the_aws_cli(emulator_url: str) -> None:
    ce, queue, definition = unique("ce"), unique("q"), unique("jd")
    cli_json(emulator_url, "batch", "create-compute-environment", "--compute-environment-name",
             ce, "--type", "MANAGED", "--compute-resources",
             json.dumps({"type": "FARGATE", "maxvCpus": 4, "subnets": ["subnet-1"],
                         "securityGroupIds": ["sg-1"]}))
    deadline = time.monotonic() + 10
    while cli_json(emulator_url, "batch", "describe-compute-environments",
                   "--compute-environments", ce)["computeEnvironments"][0]["status"] != "VALID":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    cli_json(emulator_url, "batch", "create-job-queue", "--job-queue-name", queue,
             "--priority", "1", "--compute-environment-order",
             json.dumps([{"order": 1, "computeEnvironment": ce}]))
    deadline = time.monotonic() + 10
    while cli_json(emulator_url, "batch", "describe-job-queues", "--job-queues", queue)[
            "jobQueues"][0]["status"] != "VALID":
        assert time.monotonic() < deadline
        time.sleep(0.1)

    def box(name: str, command: list[str], vcpu: str = "0.25", memory: str = "512",
            **extra: Any) -> dict[str, Any]:
        return {"name": name, "image": "python:3.11", "command": command,
                "mountPoints": MOUNT, "resourceRequirements": [
                    {"type": "VCPU", "value": vcpu}, {"type": "MEMORY", "value": memory}],
                **extra}

    properties = {"taskProperties": [{"executionRoleArn": EXECUTION_ROLE,
                                      "volumes": [{"name": "work"}], "containers": [
        box("stage-in", ["sh", "-c", "echo staged > /data/input.txt"], essential=False),
        box("main", [PY, "-c", "import sys; print(open('/data/input.txt').read().strip()); "
                     "sys.exit(2)"], "0.5", "1024", essential=False,
            dependsOn=[{"containerName": "stage-in", "condition": "SUCCESS"}]),
        box("stage-out", ["sh", "-c", "cat /data/input.txt"],
            dependsOn=[{"containerName": "main", "condition": "COMPLETE"}]),
    ]}]}
    cli_json(emulator_url, "batch", "register-job-definition", "--job-definition-name",
             definition, "--type", "container", "--platform-capabilities", "FARGATE",
             "--ecs-properties", json.dumps(properties))
    job_id = cli_json(emulator_url, "batch", "submit-job", "--job-name", "cli-job",
                      "--job-queue", queue, "--job-definition", definition)["jobId"]
    deadline = time.monotonic() + 20
    while True:
        job = cli_json(emulator_url, "batch", "describe-jobs", "--jobs", job_id)["jobs"][0]
        if job["status"] in ("SUCCEEDED", "FAILED"):
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job["status"] == "SUCCEEDED"
    containers = job["ecsProperties"]["taskProperties"][0]["containers"]
    assert [c["exitCode"] for c in containers] == [0, 2, 0]
    events = cli_json(emulator_url, "logs", "get-log-events", "--log-group-name",
                      "/aws/batch/job", "--log-stream-name", containers[1]["logStreamName"],
                      "--start-from-head")["events"]
    assert [e["message"] for e in events] == ["staged"]
    listed = cli_json(emulator_url, "batch", "list-jobs", "--job-queue", queue,
                      "--job-status", "SUCCEEDED")["jobSummaryList"]
    assert [j["jobId"] for j in listed] == [job_id]
    failed = aws_cli(emulator_url, "batch", "submit-job", "--job-name", "x", "--job-queue",
                     "missing", "--job-definition", definition)
    assert failed.returncode != 0
    assert "ClientException" in failed.stderr and "JobQueue missing not found." in failed.stderr

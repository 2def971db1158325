"""The endpoint itself: routing, malformed requests, resources' lifecycles, tags, S3."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.helpers import aws_cli, client, single_definition, unique, wait_for

BATCH_AUTH = ("AWS4-HMAC-SHA256 Credential=test/20240101/eu-west-1/batch/aws4_request, "
              "SignedHeaders=host, Signature=abc")


def raw(url: str, path: str, body: bytes = b"", method: str = "POST",
        auth: str = BATCH_AUTH) -> tuple[int, dict[str, Any], str]:
    request = urllib.request.Request(url + path, data=body or None, method=method,
                                     headers={"Authorization": auth,
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), ""
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers.get("x-amzn-ErrorType", "")


def test_health(emulator_url: str) -> None:
    with urllib.request.urlopen(emulator_url + "/batchmagic/health", timeout=5) as response:
        data = json.loads(response.read())
    assert data["status"] == "ok" and data["url"] == emulator_url


def test_malformed_requests_get_4xx_aws_errors(emulator_url: str) -> None:
    status, body, header = raw(emulator_url, "/v1/submitjob", b"{not json")
    assert status == 400 and body["__type"] == "ClientException"
    assert header.startswith("ClientException")
    status, body, _ = raw(emulator_url, "/v1/submitjob", b"[1, 2]")
    assert status == 400
    status, body, _ = raw(emulator_url, "/v1/nosuchoperation", b"{}")
    assert status == 404 and "Unknown operation" in body["message"]
    status, body, _ = raw(emulator_url, "/v1/describejobs", method="GET")
    assert status == 405
    status, body, _ = raw(emulator_url, "/v1/submitjob", b'{"jobName": 5}')
    assert status == 400 and body["__type"] == "ClientException"


def test_any_region_and_credentials(emulator_url: str) -> None:
    status, body, _ = raw(emulator_url, "/v1/describejobqueues", b"{}")
    assert status == 200 and "jobQueues" in body
    other = client(emulator_url, "batch")
    assert "jobQueues" in other.describe_job_queues()


def test_environment_and_queue_go_from_creating_to_valid(batch: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from batchmagic.emulator import resources

    # Long enough to see CREATING on a busy machine (the usual delay is 50 ms).
    monkeypatch.setattr(resources, "PROVISIONING_DELAY_S", 1.0)
    ce = unique("ce")
    created = batch.create_compute_environment(
        computeEnvironmentName=ce, type="MANAGED",
        computeResources={"type": "FARGATE_SPOT", "maxvCpus": 4, "subnets": ["subnet-1"],
                          "securityGroupIds": ["sg-1"]})
    assert created["computeEnvironmentArn"] == (
        f"arn:aws:batch:us-east-1:123456789012:compute-environment/{ce}")
    detail = batch.describe_compute_environments(computeEnvironments=[ce])
    assert detail["computeEnvironments"][0]["status"] == "CREATING"
    wait_for(lambda: batch.describe_compute_environments(computeEnvironments=[ce])[
        "computeEnvironments"][0]["status"] == "VALID", timeout=3)
    queue = unique("q")
    batch.create_job_queue(jobQueueName=queue, priority=5,
                           computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}])
    assert batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]["status"] == "CREATING"
    wait_for(lambda: batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]["status"]
             == "VALID", timeout=3)
    ce_detail = batch.describe_compute_environments(computeEnvironments=[ce])
    assert ce_detail["computeEnvironments"][0]["computeResources"]["type"] == "FARGATE_SPOT"
    batch.update_job_queue(jobQueue=queue, state="DISABLED")
    wait_for(lambda: batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]["state"]
             == "DISABLED")
    batch.update_compute_environment(computeEnvironment=ce, state="DISABLED")
    try:
        batch.delete_compute_environment(computeEnvironment=ce)
        raise AssertionError("a compute environment used by a queue cannot be deleted")
    except batch.exceptions.ClientException as error:
        assert "JobQueue relationship" in str(error)
    batch.delete_job_queue(jobQueue=queue)
    wait_for(lambda: not batch.describe_job_queues(jobQueues=[queue])["jobQueues"])
    batch.delete_compute_environment(computeEnvironment=ce)
    wait_for(lambda: not batch.describe_compute_environments(
        computeEnvironments=[ce])["computeEnvironments"])


def test_job_definitions_by_name_revision_arn_status_and_pages(batch: Any) -> None:
    name = single_definition(batch, ["echo", "1"], tags={"a": "1"})
    second = batch.register_job_definition(
        jobDefinitionName=name, type="container",
        containerProperties={"image": "python:3.11", "command": ["echo", "2"],
                             "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                                      {"type": "MEMORY", "value": "512"}]})
    assert second["revision"] == 2
    by_name = batch.describe_job_definitions(jobDefinitionName=name)["jobDefinitions"]
    assert [d["revision"] for d in by_name] == [1, 2]
    by_rev = batch.describe_job_definitions(jobDefinitions=[f"{name}:1"])["jobDefinitions"]
    assert by_rev[0]["containerProperties"]["command"] == ["echo", "1"]
    assert by_rev[0]["tags"] == {"a": "1"}
    by_arn = batch.describe_job_definitions(jobDefinitions=[second["jobDefinitionArn"]])
    assert by_arn["jobDefinitions"][0]["revision"] == 2
    batch.deregister_job_definition(jobDefinition=second["jobDefinitionArn"])
    active = batch.describe_job_definitions(jobDefinitionName=name, status="ACTIVE")
    assert [d["revision"] for d in active["jobDefinitions"]] == [1]
    first = batch.describe_job_definitions(jobDefinitionName=name, maxResults=1)
    assert len(first["jobDefinitions"]) == 1 and first["nextToken"]
    rest = batch.describe_job_definitions(jobDefinitionName=name, maxResults=1,
                                          nextToken=first["nextToken"])
    assert rest["jobDefinitions"][0]["status"] == "INACTIVE" and "nextToken" not in rest


def test_tags(batch: Any) -> None:
    name = single_definition(batch, ["true"])
    arn = batch.describe_job_definitions(jobDefinitionName=name)["jobDefinitions"][0][
        "jobDefinitionArn"]
    batch.tag_resource(resourceArn=arn, tags={"x": "1", "y": "2"})
    batch.untag_resource(resourceArn=arn, tagKeys=["x"])
    assert batch.list_tags_for_resource(resourceArn=arn)["tags"] == {"y": "2"}


def test_s3_path_style_with_boto3_and_the_aws_cli(emulator_url: str, tmp_path: Any) -> None:
    s3 = client(emulator_url, "s3")
    bucket = unique("bucket")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="in/a.txt", Body=b"alpha")
    target = tmp_path / "down"
    result = aws_cli(emulator_url, "s3", "cp", f"s3://{bucket}/in/", str(target), "--recursive")
    assert result.returncode == 0, result.stderr
    assert (target / "a.txt").read_text() == "alpha"
    result = aws_cli(emulator_url, "s3", "cp", str(target / "a.txt"), f"s3://{bucket}/out/b.txt")
    assert result.returncode == 0, result.stderr
    assert s3.get_object(Bucket=bucket, Key="out/b.txt")["Body"].read() == b"alpha"

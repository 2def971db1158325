"""SubmitJob never creates a second job, whatever the network and the service do: an answer
lost after AWS accepted the job is followed by a lookup of the run's unique name, not by a
second submission."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.aws.submitonce import classify, submit_once
from tests.helpers import EXECUTION_ROLE, FARGATE_RESOURCES, unique, wait_for

# A busy region: a third of the calls fail with a 5xx, a fifth are reset, and half of those
# failures happen after the call was carried out (the job exists, the answer is lost).
FAULTS = "error=0.3,reset=0.2,after=0.5,seed=20240601"


@pytest.fixture(scope="module")
def faulty_url() -> Iterator[str]:
    from batchmagic.emulator import run_emulator

    with run_emulator(faults=FAULTS) as url:
        yield url


def _patient(url: str) -> Any:
    """A client that retries reads and idempotent setup calls through the faults."""
    target = AwsTarget(region="us-east-1", endpoint_url=url, emulator=True)
    return AwsClients(target).client("batch", Config(retries={"total_max_attempts": 30,
                                                             "mode": "standard"}))


def _tolerant(call: Any, **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except ClientError as error:  # carried out before the lost answer: it exists already
        if "exist" not in str(error):
            raise


@pytest.fixture(scope="module")
def queue_and_definition(faulty_url: str) -> tuple[str, str]:
    batch = _patient(faulty_url)
    ce, queue, definition = unique("ce"), unique("q"), unique("def")
    _tolerant(batch.create_compute_environment, computeEnvironmentName=ce, type="MANAGED",
              computeResources=FARGATE_RESOURCES)
    wait_for(lambda: batch.describe_compute_environments(
        computeEnvironments=[ce])["computeEnvironments"][0]["status"] == "VALID")
    _tolerant(batch.create_job_queue, jobQueueName=queue, priority=1,
              computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}])
    wait_for(lambda: batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]["status"]
             == "VALID")
    batch.register_job_definition(
        jobDefinitionName=definition, type="container", platformCapabilities=["FARGATE"],
        containerProperties={"image": "python:3.11", "command": ["python", "-c", "pass"],
                             "executionRoleArn": EXECUTION_ROLE,
                             "resourceRequirements": [{"type": "VCPU", "value": "0.25"},
                                                      {"type": "MEMORY", "value": "512"}]})
    return queue, definition


def test_each_run_name_becomes_exactly_one_job_under_faults(
        faulty_url: str, queue_and_definition: tuple[str, str]) -> None:
    queue, definition = queue_and_definition
    clients = AwsClients(AwsTarget(region="us-east-1", endpoint_url=faulty_url, emulator=True))
    patient = _patient(faulty_url)
    for _ in range(16):
        name = unique("run")
        response = submit_once(clients, {"jobName": name, "jobQueue": queue,
                                         "jobDefinition": definition}, sleep=lambda _s: None)
        found = patient.list_jobs(jobQueue=queue, filters=[{"name": "JOB_NAME",
                                                            "values": [name]}])
        assert [job["jobId"] for job in found["jobSummaryList"]] == [response["jobId"]], name


def test_failures_are_classified_by_whether_the_job_may_exist() -> None:
    def client_error(code: str, status: int) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": "m"},
                            "ResponseMetadata": {"HTTPStatusCode": status}}, "SubmitJob")

    assert classify(client_error("ServerException", 500)) == "ambiguous"
    assert classify(client_error("TooManyRequestsException", 429)) == "retry"
    assert classify(client_error("ClientException", 400)) == "final"
    assert classify(ConnectionClosedError(endpoint_url="http://x")) == "ambiguous"
    assert classify(ReadTimeoutError(endpoint_url="http://x")) == "ambiguous"


def test_submit_job_goes_through_a_client_without_automatic_retries(
        clients: AwsClients) -> None:
    assert clients.batch_submit.meta.config.retries["total_max_attempts"] == 1

"""Every Batch operation of the emulator answers in botocore's output shape, and the shape
walker that checks it (tests/emulator/shapes.py) does see what AWS could never send."""

from __future__ import annotations

import json
from typing import Any

import botocore.session

from batchmagic.emulator.batch_api import OPERATIONS
from tests.emulator.shapes import ShapeRecorder, response_problems
from tests.helpers import (
    EXECUTION_ROLE,
    client,
    container,
    make_environment,
    unique,
    wait_for,
    wait_job,
)

MODEL = botocore.session.get_session().get_service_model("batch")
TAG_OPERATIONS = ("TagResource", "UntagResource", "ListTagsForResource")


def problems(operation: str, body: dict[str, Any]) -> list[str]:
    return response_problems(MODEL.operation_model(operation), json.dumps(body).encode())


def test_the_walker_sees_unknown_members_wrong_types_enums_and_missing_members() -> None:
    queue = {"jobQueueName": "q", "jobQueueArn": "arn", "state": "ENABLED", "priority": 1,
             "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "arn"}]}
    assert problems("DescribeJobQueues", {"jobQueues": [queue]}) == []
    assert problems("DescribeJobQueues", {"jobQueues": [{**queue, "color": "red"}]}) == [
        "DescribeJobQueues $.jobQueues[0].color: not a member of JobQueueDetail"]
    assert problems("DescribeJobQueues", {"jobQueues": [{**queue, "priority": "1"}]}) == [
        "DescribeJobQueues $.jobQueues[0].priority: expected integer, got '1'"]
    assert problems("DescribeJobQueues", {"jobQueues": [{**queue, "state": "ON"}]})[0].endswith(
        "'ON' is not one of JQState's values ['ENABLED', 'DISABLED']")
    del queue["priority"]
    assert problems("DescribeJobQueues", {"jobQueues": [queue]}) == [
        "DescribeJobQueues $.jobQueues[0].priority: required member of JobQueueDetail missing"]
    queue["priority"] = 1
    assert problems("DescribeJobQueues", {"jobQueues": [{**queue, "tags": {"k": 1}}]}) == [
        "DescribeJobQueues $.jobQueues[0].tags['k']: expected a string, got 1"]


def test_every_operation_answers_in_its_shape(emulator_url: str) -> None:
    recorder = ShapeRecorder()
    batch = recorder.attach(client(emulator_url, "batch"))
    ce = make_environment(batch)
    batch.describe_compute_environments()
    batch.update_compute_environment(computeEnvironment=ce, state="ENABLED")
    wait_for(lambda: batch.describe_compute_environments(computeEnvironments=[ce])[
        "computeEnvironments"][0]["status"] == "VALID")
    queue = unique("q")
    batch.create_job_queue(jobQueueName=queue, priority=1, tags={"team": "shapes"},
                           computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}])
    wait_for(lambda: batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]["status"]
             == "VALID")
    batch.update_job_queue(jobQueue=queue, priority=2)
    definition = unique("jd")
    registered = batch.register_job_definition(
        jobDefinitionName=definition, type="container", platformCapabilities=["FARGATE"],
        retryStrategy={"attempts": 2}, propagateTags=True, tags={"team": "shapes"},
        ecsProperties={"taskProperties": [{"executionRoleArn": EXECUTION_ROLE,
                                           "containers": [container("main", ["true"])]}]})
    batch.describe_job_definitions(jobDefinitions=[definition])
    done = batch.submit_job(jobName=unique("ok"), jobQueue=queue, jobDefinition=definition,
                            tags={"run": "1"})["jobId"]
    array = batch.submit_job(jobName=unique("arr"), jobQueue=queue, jobDefinition=definition,
                             arrayProperties={"size": 2})["jobId"]
    wait_job(batch, done)
    wait_job(batch, array)
    batch.describe_jobs(jobs=[done, array, f"{array}:0"])
    batch.list_jobs(jobQueue=queue, jobStatus="SUCCEEDED")
    batch.list_jobs(arrayJobId=array, jobStatus="SUCCEEDED")
    batch.list_jobs(jobQueue=queue, filters=[{"name": "JOB_NAME", "values": ["ok*"]}])
    batch.terminate_job(jobId=done, reason="already over")
    batch.cancel_job(jobId=done, reason="already over")
    job_arn = batch.describe_jobs(jobs=[done])["jobs"][0]["jobArn"]
    batch.tag_resource(resourceArn=job_arn, tags={"more": "yes"})
    batch.untag_resource(resourceArn=job_arn, tagKeys=["more"])
    batch.list_tags_for_resource(resourceArn=registered["jobDefinitionArn"])
    batch.deregister_job_definition(jobDefinition=registered["jobDefinitionArn"])
    batch.update_job_queue(jobQueue=queue, state="DISABLED")
    wait_for(lambda: batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]["status"]
             == "VALID")
    batch.delete_job_queue(jobQueue=queue)
    batch.update_compute_environment(computeEnvironment=ce, state="DISABLED")
    wait_for(lambda: not batch.describe_job_queues(jobQueues=[queue])["jobQueues"])
    batch.delete_compute_environment(computeEnvironment=ce)
    assert recorder.operations == {*OPERATIONS, *TAG_OPERATIONS}
    assert recorder.problems == []

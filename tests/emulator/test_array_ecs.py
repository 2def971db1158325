"""Array jobs of ecsProperties jobs, as ``%%aws_batch --map`` submits them: child ids
``<parent>:<i>``, the index in every container of a child, statusSummary, ListJobs(arrayJobId)."""

from __future__ import annotations

from typing import Any

from tests.helpers import PY, container, ecs_definition, log_lines, unique, wait_job

SAY_INDEX = "import os; print('index', os.environ['AWS_BATCH_JOB_ARRAY_INDEX'])"


def test_every_container_of_a_child_sees_its_array_index(batch: Any, logs: Any,
                                                         queue: str) -> None:
    definition = ecs_definition(batch, [
        container("first", [PY, "-c", SAY_INDEX], essential=False),
        container("second", [PY, "-c", SAY_INDEX], essential=True,
                  dependsOn=[{"containerName": "first", "condition": "COMPLETE"}]),
    ])
    parent = batch.submit_job(jobName=unique("array"), jobQueue=queue, jobDefinition=definition,
                              arrayProperties={"size": 3})["jobId"]
    final = wait_job(batch, parent)
    assert final["status"] == "SUCCEEDED"
    assert final["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 3
    listed = batch.list_jobs(arrayJobId=parent, jobStatus="SUCCEEDED")["jobSummaryList"]
    assert sorted(j["jobId"] for j in listed) == [f"{parent}:{i}" for i in range(3)]
    assert sorted(j["arrayProperties"]["index"] for j in listed) == [0, 1, 2]
    child = batch.describe_jobs(jobs=[f"{parent}:2"])["jobs"][0]
    assert child["arrayProperties"]["index"] == 2
    for described in child["ecsProperties"]["taskProperties"][0]["containers"]:
        assert log_lines(logs, described["logStreamName"]) == ["index 2"]

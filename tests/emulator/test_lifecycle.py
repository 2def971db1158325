"""Job lifecycle: statuses, environment, terminate, cancel, timeout, retries, array jobs."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from batchmagic.emulator import run_emulator
from tests.helpers import (
    client,
    group_alive,
    log_lines,
    make_environment,
    make_queue,
    single_definition,
    unique,
    wait_for,
    wait_job,
)

SLEEPER = "import os, time; print('pid', os.getpgid(0), flush=True); time.sleep(60)"


def _pgid_from_log(logs: Any, stream: str) -> int:
    line = wait_for(lambda: [x for x in log_lines(logs, stream) if x.startswith("pid ")])[0]
    return int(line.split()[1])


def _stream(batch: Any, job_id: str) -> str:
    def find() -> str | None:
        job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        stream: str | None = job.get("container", {}).get("logStreamName")
        return stream

    return str(wait_for(find))


def test_single_container_job_reaches_running_fast_and_gets_batch_environment(
        batch: Any, logs: Any, queue: str, emulator_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The host's own AWS settings must not reach a job (AWS_PROFILE would also reach this
    # test's own clients, so a made-up AWS_ variable stands in for it).
    monkeypatch.setenv("AWS_SESSION_TOKEN", "host-token")
    monkeypatch.setenv("AWS_HOST_ONLY_SETTING", "host")
    script = ("import json, os; print(json.dumps({k: v for k, v in os.environ.items() "
              "if k.startswith(('AWS_', 'MY_', 'PYTHON'))}))")
    definition = single_definition(batch, ["python", "-c", script, "Ref::word"],
                                   parameters={"word": "default"})
    start = time.monotonic()
    job_id = batch.submit_job(
        jobName=unique("env"), jobQueue=queue, jobDefinition=definition,
        containerOverrides={"environment": [{"name": "MY_VAR", "value": "x"}]},
        tags={"team": "science"})["jobId"]
    wait_job(batch, job_id, ("RUNNING", "SUCCEEDED"))
    assert time.monotonic() - start < 1.0
    job = wait_job(batch, job_id)
    assert job["status"] == "SUCCEEDED"
    assert job["container"]["exitCode"] == 0
    stream = job["container"]["logStreamName"]
    assert re.fullmatch(rf"{definition}/default/[0-9a-f]{{32}}", stream)
    env = json.loads(log_lines(logs, stream)[0])
    assert env["AWS_ENDPOINT_URL"] == emulator_url
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_BATCH_JOB_ID"] == job_id
    assert env["AWS_BATCH_JQ_NAME"] == queue
    assert env["AWS_BATCH_JOB_ATTEMPT"] == "1"
    assert env["AWS_BATCH_CE_NAME"].startswith("ce-")
    assert env["MY_VAR"] == "x"
    assert "AWS_HOST_ONLY_SETTING" not in env and "AWS_SESSION_TOKEN" not in env
    assert env["AWS_ACCESS_KEY_ID"] == "batchmagic-job"  # a key of their own (faults spare jobs)
    assert batch.list_tags_for_resource(resourceArn=job["jobArn"])["tags"] == {
        "team": "science"}
    assert job["attempts"][0]["container"]["exitCode"] == 0


def test_terminate_kills_the_process_group(batch: Any, logs: Any, queue: str) -> None:
    definition = single_definition(batch, ["python", "-c", SLEEPER])
    job_id = batch.submit_job(jobName=unique("term"), jobQueue=queue,
                              jobDefinition=definition)["jobId"]
    pgid = _pgid_from_log(logs, _stream(batch, job_id))
    assert group_alive(pgid)
    batch.cancel_job(jobId=job_id, reason="cancel does not stop a running job")
    time.sleep(0.2)
    assert batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] == "RUNNING"
    batch.terminate_job(jobId=job_id, reason="stopped by the test")
    job = wait_job(batch, job_id)
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "stopped by the test"
    assert job["container"]["exitCode"] == 143  # SIGTERM
    assert not group_alive(pgid)


def test_cancel_a_job_that_has_not_started(batch: Any) -> None:
    ce = make_environment(batch, state="DISABLED")
    queue = unique("q")
    batch.create_job_queue(jobQueueName=queue, priority=1,
                           computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}])
    definition = single_definition(batch, ["python", "-c", "print(1)"])
    job_id = batch.submit_job(jobName=unique("cancel"), jobQueue=queue,
                              jobDefinition=definition)["jobId"]
    wait_job(batch, job_id, ("RUNNABLE",))
    batch.cancel_job(jobId=job_id, reason="not needed")
    job = wait_job(batch, job_id)
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "not needed"
    assert job["isCancelled"] is True
    assert job["attempts"] == []


@pytest.fixture(scope="module")
def short_timeouts() -> Iterator[tuple[Any, Any, str]]:
    """An emulator of its own that accepts timeouts under AWS's 60 s minimum."""
    with run_emulator(min_timeout_s=1) as url:
        batch = client(url, "batch")
        yield batch, client(url, "logs"), make_queue(batch)


def test_timeout_stops_the_attempt(short_timeouts: tuple[Any, Any, str]) -> None:
    batch, logs, queue = short_timeouts
    definition = single_definition(batch, ["python", "-c", SLEEPER])
    job_id = batch.submit_job(jobName=unique("timeout"), jobQueue=queue,
                              jobDefinition=definition,
                              timeout={"attemptDurationSeconds": 1},
                              retryStrategy={"attempts": 3})["jobId"]
    pgid = _pgid_from_log(logs, _stream(batch, job_id))
    job = wait_job(batch, job_id, timeout=10)
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "Job attempt duration exceeded timeout"
    assert len(job["attempts"]) == 1  # a timed-out attempt is not retried
    assert job["stoppedAt"] - job["startedAt"] >= 900
    assert not group_alive(pgid)


def test_the_aws_minimum_timeout_is_enforced(batch: Any, queue: str) -> None:
    definition = single_definition(batch, ["python", "-c", "print(1)"])
    with pytest.raises(batch.exceptions.ClientException, match="at least 60 seconds"):
        batch.submit_job(jobName=unique("t"), jobQueue=queue, jobDefinition=definition,
                         timeout={"attemptDurationSeconds": 5})


def test_retry_runs_a_new_attempt(batch: Any, logs: Any, queue: str) -> None:
    script = ("import os, sys; a = os.environ['AWS_BATCH_JOB_ATTEMPT']; "
              "print('attempt', a, os.getcwd()); sys.exit(0 if a == '3' else 5)")
    definition = single_definition(batch, ["python", "-c", script],
                                   retryStrategy={"attempts": 3})
    job_id = batch.submit_job(jobName=unique("retry"), jobQueue=queue,
                              jobDefinition=definition)["jobId"]
    job = wait_job(batch, job_id)
    assert job["status"] == "SUCCEEDED"
    assert [a["container"]["exitCode"] for a in job["attempts"]] == [5, 5, 0]
    streams = [a["container"]["logStreamName"] for a in job["attempts"]]
    assert len(set(streams)) == 3
    dirs = [log_lines(logs, s)[0].split()[2] for s in streams]
    assert [log_lines(logs, s)[0].split()[1] for s in streams] == ["1", "2", "3"]
    assert len(set(dirs)) == 3 and not any(os.path.exists(d) for d in dirs)


def test_evaluate_on_exit_stops_retries(batch: Any, queue: str) -> None:
    definition = single_definition(batch, ["python", "-c", "raise SystemExit(7)"])
    job_id = batch.submit_job(
        jobName=unique("exit"), jobQueue=queue, jobDefinition=definition,
        retryStrategy={"attempts": 3, "evaluateOnExit": [
            {"onExitCode": "7", "action": "EXIT"}, {"onReason": "*", "action": "RETRY"}]})["jobId"]
    job = wait_job(batch, job_id)
    assert job["status"] == "FAILED" and len(job["attempts"]) == 1


def test_array_job(batch: Any, logs: Any, queue: str) -> None:
    script = ("import os, sys; i = int(os.environ['AWS_BATCH_JOB_ARRAY_INDEX']); "
              "print('index', i); sys.exit(1 if i == 2 else 0)")
    definition = single_definition(batch, ["python", "-c", script])
    name = unique("array")
    parent = batch.submit_job(jobName=name, jobQueue=queue, jobDefinition=definition,
                              arrayProperties={"size": 4})["jobId"]
    job = wait_job(batch, parent)
    assert job["status"] == "FAILED"
    assert job["arrayProperties"]["size"] == 4
    summary = job["arrayProperties"]["statusSummary"]
    assert summary["SUCCEEDED"] == 3 and summary["FAILED"] == 1
    children = batch.list_jobs(arrayJobId=parent, jobStatus="SUCCEEDED")["jobSummaryList"]
    assert sorted(c["jobId"] for c in children) == [f"{parent}:{i}" for i in (0, 1, 3)]
    child = batch.describe_jobs(jobs=[f"{parent}:2"])["jobs"][0]
    assert child["status"] == "FAILED" and child["arrayProperties"]["index"] == 2
    assert log_lines(logs, child["container"]["logStreamName"]) == ["index 2"]
    listed = batch.list_jobs(jobQueue=queue, filters=[{"name": "JOB_NAME",
                                                       "values": [name[:-3] + "*"]}])
    assert [j["jobId"] for j in listed["jobSummaryList"]] == [parent]


def test_list_jobs_pages(batch: Any, queue: str) -> None:
    definition = single_definition(batch, ["python", "-c", "print(1)"])
    prefix = unique("page")
    ids = {batch.submit_job(jobName=f"{prefix}-{i}", jobQueue=queue,
                            jobDefinition=definition)["jobId"] for i in range(5)}
    seen: list[str] = []
    kwargs: dict[str, Any] = {"jobQueue": queue, "maxResults": 2,
                              "filters": [{"name": "JOB_NAME", "values": [f"{prefix}*"]}]}
    while True:
        page = batch.list_jobs(**kwargs)
        seen += [j["jobId"] for j in page["jobSummaryList"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert sorted(seen) == sorted(ids)
    for job_id in ids:
        wait_job(batch, job_id)


def test_many_jobs_run_concurrently_and_the_api_stays_responsive(
        batch: Any, tmp_path: Any) -> None:
    # Room for all twenty 1-vCPU jobs at once (the shared queue's environment has 16 vCPUs).
    queue = make_queue(batch, max_vcpus=32)
    release = tmp_path / "release"
    script = ("import os, sys, time\nfor _ in range(1500):\n"
              f"    if os.path.exists({str(release)!r}): break\n    time.sleep(0.02)")
    definition = single_definition(batch, ["python", "-c", script])
    ids = [batch.submit_job(jobName=unique("many"), jobQueue=queue,
                            jobDefinition=definition)["jobId"] for _ in range(20)]
    try:
        # Twenty interpreters starting on a busy machine can take a while: the wait ends as
        # soon as they all run, so a generous bound costs nothing on an idle one.
        wait_for(lambda: all(j["status"] == "RUNNING"
                             for j in batch.describe_jobs(jobs=ids)["jobs"]), timeout=60,
                 every=0.2)
        # Responsive while they run: the best of three calls (one scheduling hiccup of a loaded
        # machine is not the API blocking behind the jobs).
        latencies = []
        for _ in range(3):
            start = time.monotonic()
            batch.describe_job_queues(jobQueues=[queue])
            latencies.append(time.monotonic() - start)
        assert min(latencies) < 1.0, latencies
    finally:
        release.write_text("")
    for job_id in ids:
        assert wait_job(batch, job_id, timeout=60)["status"] == "SUCCEEDED"

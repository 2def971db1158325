"""A three-container ecsProperties job, as batchmagic submits it: shared volume, dependsOn,
a failing non-essential container, live logs."""

from __future__ import annotations

import time
from typing import Any

from tests.helpers import PY, container, ecs_definition, log_lines, unique, wait_for, wait_job

VOLUME = [{"name": "work"}]
MOUNT = [{"sourceVolume": "work", "containerPath": "/work"}]

WRITER = ("import os, pathlib; pathlib.Path('/work/in').mkdir(); "
          "pathlib.Path('/work/in/data.txt').write_text('from-first'); print('first wrote')")
# Prints, then waits until the test (reading the log) has seen the line: proves live logs.
WAITER = ("import os, sys, time, pathlib; print('second waiting', flush=True); "
          "p = pathlib.Path('/work/go'); "
          "[time.sleep(0.02) for _ in iter(lambda: p.exists(), True)]; "
          "print('second failing'); sys.exit(3)")
READER = ("import os, pathlib; print('third read', pathlib.Path('/work/in/data.txt').read_text()); "
          "print('job', os.environ['AWS_BATCH_JOB_ID'], 'attempt', "
          "os.environ['AWS_BATCH_JOB_ATTEMPT'])")


def three_containers(batch: Any) -> str:
    return ecs_definition(batch, [
        container("first", ["python", "-c", WRITER], "0.5", "1024", essential=False,
                  mountPoints=MOUNT),
        container("second", ["python3", "-c", WAITER], essential=False, mountPoints=MOUNT,
                  dependsOn=[{"containerName": "first", "condition": "SUCCESS"}]),
        container("third", [PY, "-c", READER], essential=True, mountPoints=MOUNT,
                  dependsOn=[{"containerName": "second", "condition": "COMPLETE"}]),
    ], volumes=VOLUME)


def test_three_container_job_with_shared_volume_and_live_logs(
        batch: Any, logs: Any, queue: str, emulator_url: str) -> None:
    definition = three_containers(batch)
    submitted = time.monotonic()
    job_id = batch.submit_job(jobName=unique("three"), jobQueue=queue,
                              jobDefinition=definition)["jobId"]
    running = wait_job(batch, job_id, ("RUNNING",))
    assert time.monotonic() - submitted < 5

    def second_stream() -> str | None:
        job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        second = job["ecsProperties"]["taskProperties"][0]["containers"][1]
        stream: str | None = second.get("logStreamName")
        return stream

    stream = wait_for(second_stream)
    wait_for(lambda: "second waiting" in log_lines(logs, stream))
    job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
    assert job["status"] == "RUNNING"
    assert "exitCode" not in job["ecsProperties"]["taskProperties"][0]["containers"][1]

    # Unblock the second container through the shared volume's host directory.
    volume_dir = _volume_dir(batch, logs, job_id)
    (volume_dir / "go").write_text("")

    job = wait_job(batch, job_id)
    assert running["startedAt"] >= running["createdAt"]
    task = job["ecsProperties"]["taskProperties"][0]
    assert job["status"] == "SUCCEEDED", [log_lines(logs, c["logStreamName"])
                                          for c in task["containers"]]
    codes = {c["name"]: c.get("exitCode") for c in task["containers"]}
    assert codes == {"first": 0, "second": 3, "third": 0}
    assert task["taskArn"].startswith("arn:aws:ecs:us-east-1:123456789012:task/")
    for c in task["containers"]:
        assert c["logStreamName"] == f"{definition}/{c['name']}/{task['taskArn'].split('/')[-1]}"
    third = log_lines(logs, task["containers"][2]["logStreamName"])
    assert third[0] == "third read from-first"
    assert third[1] == f"job {job_id} attempt 1"
    assert log_lines(logs, task["containers"][1]["logStreamName"])[-1] == "second failing"
    attempt = job["attempts"][0]["taskProperties"][0]
    assert [(c["name"], c["exitCode"]) for c in attempt["containers"]] == [
        ("first", 0), ("second", 3), ("third", 0)]
    assert job["stoppedAt"] >= job["startedAt"]


def _volume_dir(batch: Any, logs: Any, job_id: str) -> Any:
    """The host directory of the job's /work volume, learnt from the first container's env."""
    import json
    import pathlib

    del batch, logs
    for proc in pathlib.Path("/proc").glob("[0-9]*/environ"):
        try:
            env = dict(item.split("=", 1) for item in proc.read_bytes().decode(
                errors="replace").split("\0") if "=" in item)
        except OSError:
            continue
        if env.get("AWS_BATCH_JOB_ID") == job_id and "BATCHMAGIC_VOLUME_MAP" in env:
            return pathlib.Path(json.loads(env["BATCHMAGIC_VOLUME_MAP"])["/work"])
    raise AssertionError("no running container of the job found")


def test_essential_container_that_never_starts_fails_the_job(
        batch: Any, queue: str) -> None:
    definition = ecs_definition(batch, [
        container("setup", ["python", "-c", "raise SystemExit(1)"], essential=False),
        container("main", ["python", "-c", "print('never')"],
                  dependsOn=[{"containerName": "setup", "condition": "SUCCESS"}]),
    ])
    job_id = batch.submit_job(jobName=unique("never"), jobQueue=queue,
                              jobDefinition=definition)["jobId"]
    job = wait_job(batch, job_id)
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "Essential container in task exited"
    setup, main = job["ecsProperties"]["taskProperties"][0]["containers"]
    assert setup["exitCode"] == 1
    # As the ECS agent reports it: stopped with 143 without running, and why.
    assert main["exitCode"] == 143
    assert main["reason"].startswith("CannotStartContainerError: dependency graph: failed to "
                                     "resolve container ordering dependency [setup(")
    assert "Exit: 1" in main["reason"]
    assert "logStreamName" not in main


def test_a_container_that_never_started_still_lets_complete_dependents_run(
        batch: Any, logs: Any, queue: str) -> None:
    definition = ecs_definition(batch, [
        container("stage-in", ["python", "-c", "raise SystemExit(2)"], "0.125", "256",
                  essential=False),
        container("main", ["python", "-c", "print('never')"], "0.5", "1536", essential=False,
                  dependsOn=[{"containerName": "stage-in", "condition": "SUCCESS"}]),
        container("stage-out", ["python", "-c", "print('stage-out ran')"], "0.375", "256",
                  dependsOn=[{"containerName": "main", "condition": "COMPLETE"}]),
    ])
    job_id = batch.submit_job(jobName=unique("chain"), jobQueue=queue,
                              jobDefinition=definition)["jobId"]
    job = wait_job(batch, job_id)
    stage_in, main, stage_out = job["ecsProperties"]["taskProperties"][0]["containers"]
    assert job["status"] == "SUCCEEDED"
    assert (stage_in["exitCode"], main["exitCode"], stage_out["exitCode"]) == (2, 143, 0)
    assert "dependency" in main["reason"] and "Exit: 2" in main["reason"]
    assert log_lines(logs, stage_out["logStreamName"]) == ["stage-out ran"]


def test_unknown_executable_exits_127_and_says_why(batch: Any, logs: Any, queue: str) -> None:
    definition = ecs_definition(batch, [
        container("broken", ["no-such-program-xyz", "arg"], essential=False),
        container("after", ["python", "-c", "print('after ran')"],
                  dependsOn=[{"containerName": "broken", "condition": "COMPLETE"}]),
    ])
    job_id = batch.submit_job(jobName=unique("noexe"), jobQueue=queue,
                              jobDefinition=definition)["jobId"]
    job = wait_job(batch, job_id)
    broken, after = job["ecsProperties"]["taskProperties"][0]["containers"]
    assert job["status"] == "SUCCEEDED"
    assert broken["exitCode"] == 127
    assert "no-such-program-xyz" in broken["reason"]
    assert "executable file not found" in log_lines(logs, broken["logStreamName"])[0]
    assert log_lines(logs, after["logStreamName"]) == ["after ran"]

"""Stopping the emulator leaves nothing behind: no process, no scratch directory."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from batchmagic.emulator import run_emulator
from tests.helpers import (
    client,
    container,
    ecs_definition,
    group_alive,
    log_lines,
    make_queue,
    unique,
    wait_for,
    wait_job,
)

REPORT = ("import json, os, time; print(json.dumps({'pgid': os.getpgid(0), 'cwd': os.getcwd()}),"
          " flush=True); time.sleep(60)")


def test_stopping_the_emulator_kills_running_jobs_and_removes_scratch() -> None:
    with run_emulator() as url:
        batch, logs = client(url, "batch"), client(url, "logs")
        queue = make_queue(batch)
        definition = ecs_definition(batch, [
            container("side", ["python", "-c", REPORT], essential=False),
            container("main", ["python", "-c", REPORT]),
        ])
        job_id = batch.submit_job(jobName=unique("left"), jobQueue=queue,
                                  jobDefinition=definition)["jobId"]
        wait_job(batch, job_id, ("RUNNING",))

        def containers() -> list[dict[str, object]] | None:
            job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
            found: list[dict[str, object]] = job["ecsProperties"]["taskProperties"][0][
                "containers"]
            return found if all(c.get("logStreamName") for c in found) else None

        reports: list[dict[str, Any]] = []
        for item in wait_for(containers):
            stream = str(item["logStreamName"])
            lines = wait_for(functools.partial(log_lines, logs, stream))
            reports.append(json.loads(lines[0]))
        assert all(group_alive(r["pgid"]) for r in reports)
        assert all(Path(r["cwd"]).is_dir() for r in reports)
    assert not any(group_alive(r["pgid"]) for r in reports)
    assert not any(Path(r["cwd"]).exists() for r in reports)
    assert not Path(reports[0]["cwd"]).parent.exists()


EXITING_OWNER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.helpers import client, log_lines, make_queue, single_definition, wait_for
from batchmagic.emulator.server import EmulatorServer

server = EmulatorServer()
server.start()  # never stopped explicitly: the interpreter exits with the job running
batch, logs = client(server.url, "batch"), client(server.url, "logs")
definition = single_definition(batch, ["python", "-c",
    "import os, time; print(os.getpgid(0), flush=True); time.sleep(60)"])
job_id = batch.submit_job(jobName="orphan", jobQueue=make_queue(batch),
                          jobDefinition=definition)["jobId"]
stream = wait_for(lambda: batch.describe_jobs(jobs=[job_id])["jobs"][0].get(
    "container", {}).get("logStreamName"))
print(wait_for(lambda: log_lines(logs, stream))[0], flush=True)
"""


def test_an_exiting_interpreter_stops_its_emulator_jobs() -> None:
    import subprocess
    import sys

    repo_root = str(Path(__file__).resolve().parents[2])
    result = subprocess.run([sys.executable, "-c", EXITING_OWNER, repo_root],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    pgid = int(result.stdout.split()[-1])
    assert not group_alive(pgid)

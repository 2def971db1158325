"""A job sees only its own environment and a private HOME, and every process it started dies
with it - also those that left its process group (setsid, double fork)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import log_lines, single_definition, unique, wait_for, wait_job

# Double fork + setsid: the grandchild is in its own session, adopted by init, and keeps
# running after its parent exited. It writes its pid where the test can find it.
ESCAPE = """
import os, sys, time
pidfile = sys.argv[1]
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        open(pidfile + '.tmp', 'w').write(str(os.getpid()))
        os.rename(pidfile + '.tmp', pidfile)
        time.sleep(300)
    os._exit(0)
while not os.path.exists(pidfile):
    time.sleep(0.01)
print('escaped', flush=True)
time.sleep(float(sys.argv[2]))
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _escaped_pid(pidfile: Path) -> int:
    return int(wait_for(lambda: pidfile.exists() and pidfile.read_text()))


def test_terminate_kills_processes_that_left_the_group(batch: Any, queue: str,
                                                       tmp_path: Path) -> None:
    pidfile = tmp_path / "daemon.pid"
    definition = single_definition(batch, ["python", "-c", ESCAPE, str(pidfile), "300"])
    job_id = batch.submit_job(jobName=unique("escape"), jobQueue=queue,
                              jobDefinition=definition)["jobId"]
    daemon = _escaped_pid(pidfile)
    assert _alive(daemon)
    batch.terminate_job(jobId=job_id, reason="stopped by the test")
    assert wait_job(batch, job_id, timeout=60)["status"] == "FAILED"
    wait_for(lambda: not _alive(daemon), timeout=5)


def test_a_container_that_ends_takes_its_daemons_along(batch: Any, queue: str,
                                                       tmp_path: Path) -> None:
    pidfile = tmp_path / "daemon.pid"
    definition = single_definition(batch, ["python", "-c", ESCAPE, str(pidfile), "0"])
    job_id = batch.submit_job(jobName=unique("escape"), jobQueue=queue,
                              jobDefinition=definition)["jobId"]
    daemon = _escaped_pid(pidfile)
    assert wait_job(batch, job_id, timeout=60)["status"] == "SUCCEEDED"
    wait_for(lambda: not _alive(daemon), timeout=5)


def test_a_job_sees_neither_the_hosts_environment_nor_its_home(
        batch: Any, logs: Any, queue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The session emulator serves from this process: its environment is the "kernel's".
    monkeypatch.setenv("KERNEL_SECRET_TOKEN", "do-not-leak")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/of/the/kernel")
    script = ("import json, os; print(json.dumps({'env': dict(os.environ), "
              "'home': os.path.expanduser('~'), "
              "'aws': os.path.exists(os.path.expanduser('~/.aws/credentials'))}))")
    definition = single_definition(batch, ["python", "-c", script])
    job_id = batch.submit_job(jobName=unique("isolated"), jobQueue=queue,
                              jobDefinition=definition,
                              containerOverrides={"environment": [
                                  {"name": "MINE", "value": "yes"}]})["jobId"]
    job = wait_job(batch, job_id, timeout=60)
    assert job["status"] == "SUCCEEDED"
    seen = json.loads(log_lines(logs, job["container"]["logStreamName"])[0])
    env = seen["env"]
    assert "KERNEL_SECRET_TOKEN" not in env and "PYTHONPATH" not in env
    assert env["MINE"] == "yes" and env["AWS_BATCH_JOB_ID"] == job_id
    assert seen["home"] != os.path.expanduser("~") and not seen["aws"]
    assert set(env) - {"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "HOME", "USER", "LOGNAME",
                       "MINE", "BATCHMAGIC_VOLUME_MAP", "BATCHMAGIC_CONTAINER"} == {
        k for k in env if k.startswith("AWS_")}


def test_the_host_home_is_out_of_reach_even_when_it_has_credentials(
        batch: Any, logs: Any, queue: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "user-home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[default]\naws_access_key_id = REAL\n")
    monkeypatch.setenv("HOME", str(home))
    script = "import os; print(open(os.path.expanduser('~/.aws/credentials')).read())"
    definition = single_definition(batch, ["python", "-c", script])
    job_id = batch.submit_job(jobName=unique("home"), jobQueue=queue,
                              jobDefinition=definition)["jobId"]
    job = wait_job(batch, job_id, timeout=60)
    assert job["container"]["exitCode"] == 1
    time.sleep(0.1)
    assert not any("REAL" in line for line in log_lines(logs, job["container"]["logStreamName"]))

"""batchmagic in a real ipykernel driven by jupyter_client: background runs, a kernel restart
followed by %aws_batch_attach, and an interrupt that leaves no process behind."""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager

from batchmagic.aws.clients import AwsClients
from batchmagic.run.target import local_target


class Kernel:
    def __init__(self, cwd: Path) -> None:
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(cwd))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def restart(self) -> None:
        self.client.stop_channels()
        self.manager.restart_kernel(now=True)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def execute(self, code: str, timeout: float = 120) -> tuple[dict[str, Any], str]:
        """Run code; the reply's content and the text of its stream/result/error outputs."""
        msg_id = self.client.execute(code)
        reply = self.client.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=timeout)
        texts = []
        while True:
            message = self.client.get_iopub_msg(timeout=timeout)
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "status" and content["execution_state"] == "idle":
                break
            if kind == "stream":
                texts.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                texts.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                texts.append(f"{content['ename']}: {content['evalue']}")
        return reply["content"], "".join(texts)

    def value(self, expression: str) -> str:
        reply, text = self.execute(f"print({expression})")
        assert reply["status"] == "ok", text
        return text.strip()

    def shutdown(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture()
def kernel(tmp_path: Path) -> Iterator[Kernel]:
    running = Kernel(tmp_path)
    _ok(running.execute("%load_ext batchmagic"))
    yield running
    running.shutdown()


def _wait_for(flag: Path) -> str:
    """Cell code that keeps the job running until the test creates ``flag``."""
    return f"import os, time\nwhile not os.path.exists({str(flag)!r}):\n    time.sleep(0.05)\n"



def _stream_text(kernel: Kernel) -> str:
    """The stream output still queued on IOPub (until it stays quiet for 3 s)."""
    texts = []
    while True:
        try:
            message = kernel.client.get_iopub_msg(timeout=3)
        except queue.Empty:
            return "".join(texts)
        if message["msg_type"] == "stream":
            texts.append(message["content"]["text"])


def _ok(result: tuple[dict[str, Any], str]) -> str:
    """The text of a reply that must have succeeded (the reply is checked, not assumed)."""
    reply, text = result
    assert reply["status"] == "ok", text
    return text

def test_no_wait_returns_while_the_job_runs_and_wait_binds(kernel: Kernel, tmp_path: Path) -> None:
    flag = tmp_path / "release"
    reply, text = kernel.execute(
        "%%aws_batch --local --no-wait --pull v --result r\n" + _wait_for(flag) + "v = 7"
    )
    assert reply["status"] == "ok", text
    assert "runs in the background" in text
    # The job cannot end before the flag exists: the cell returned while it runs.
    assert kernel.value("r.done") == "False"
    assert kernel.value("'v' in dir()") == "False"
    flag.touch()
    assert kernel.value("r.wait(timeout=120).status") == "SUCCEEDED"
    assert kernel.value("v") == "7"


def test_attach_after_kernel_restart_binds_pulled_variable(kernel: Kernel, tmp_path: Path) -> None:
    flag = tmp_path / "release"
    reply, text = kernel.execute(
        "%%aws_batch --local --no-wait --pull w --outputs note.txt --result r\n"
        + _wait_for(flag) + "open('note.txt', 'w').write('kept')\nw = 'survived'"
    )
    assert reply["status"] == "ok", text
    job_id = kernel.value("r.job_id")
    kernel.restart()
    assert kernel.value("'w' in dir()") == "False"
    _ok(kernel.execute("%load_ext batchmagic"))
    flag.touch()
    reply, text = kernel.execute(f"%aws_batch_attach {job_id} --result again")
    assert reply["status"] == "ok", text
    assert kernel.value("w") == "survived"
    assert kernel.value("again.status") == "SUCCEEDED"
    assert (tmp_path / "note.txt").read_text() == "kept"
    _, jobs = kernel.execute("%aws_batch_jobs")
    assert job_id in jobs


def test_interrupt_terminates_job_and_leaves_no_process(kernel: Kernel, tmp_path: Path) -> None:
    pid_file, job_file = tmp_path / "pid.txt", tmp_path / "job.txt"
    code = (
        "%%aws_batch --local --result r\n"
        f"import os, time\nopen({str(job_file)!r}, 'w').write(os.environ['AWS_BATCH_JOB_ID'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(120)"
    )
    msg_id = kernel.client.execute(code)
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.1)
    pid = int(pid_file.read_text())
    kernel.manager.interrupt_kernel()
    reply = kernel.client.get_shell_msg(timeout=60)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert len(reply["content"]["traceback"]) == 1, reply["content"]["traceback"]
    deadline = time.monotonic() + 10  # TerminateJob was sent; the process goes right after
    with pytest.raises(ProcessLookupError):
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.05)
    # This run's own job (its AWS_BATCH_JOB_ID, written by the cell) was the one terminated.
    job_id = job_file.read_text()
    clients = AwsClients(local_target())
    (job,) = clients.batch.describe_jobs(jobs=[job_id])["jobs"]
    assert job["status"] == "FAILED" and "Interrupted" in job["statusReason"]


def _job_status(job_id: str) -> str:
    clients = AwsClients(local_target())
    return str(clients.batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"])


def _wait_status(job_id: str, wanted: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    status = _job_status(job_id)
    while status != wanted and time.monotonic() < deadline:
        time.sleep(0.2)
        status = _job_status(job_id)
    return status


@pytest.mark.parametrize(("policy", "expected"), [("terminate", "FAILED"), ("leave", "RUNNING")])
def test_kernel_shutdown_applies_the_on_shutdown_policy(tmp_path: Path, policy: str,
                                                        expected: str) -> None:
    flag = tmp_path / "release"
    kernel = Kernel(tmp_path)
    try:
        _ok(kernel.execute("%load_ext batchmagic"))
        assert "on_shutdown=" in _ok(kernel.execute(f"%aws_batch_config --on-shutdown {policy}"))
        reply, text = kernel.execute(
            "%%aws_batch --local --no-wait --result r\n" + _wait_for(flag) + "print('done')"
        )
        assert reply["status"] == "ok", text
        job_id = kernel.value("r.job_id")
        assert _wait_status(job_id, "RUNNING") == "RUNNING"
    finally:
        # A graceful shutdown, as from the UI; on a busy machine the kernel may need more than
        # jupyter_client's 5 s to exit before it would be killed mid-way.
        kernel.manager.shutdown_wait_time = 60
        kernel.manager.shutdown_kernel(now=False)
        said = _stream_text(kernel)  # what the kernel said on its way out
        kernel.client.stop_channels()
    assert _wait_status(job_id, expected, timeout=15) == expected
    leave_line = f"keeps running; reattach with %aws_batch_attach {job_id}"
    assert (leave_line in said) == (policy == "leave"), said
    flag.touch()
    if policy == "leave":
        assert _wait_status(job_id, "SUCCEEDED") == "SUCCEEDED"

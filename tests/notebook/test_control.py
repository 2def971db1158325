"""Interrupts, dry runs and configuration precedence, through a real InteractiveShell."""

from __future__ import annotations

import _thread
import json
import os
import threading
import time
from typing import Any

import pytest

from batchmagic.aws.clients import AwsClients
from tests.helpers import job_count, object_count

SLOW_CELL = "import os, time\nprint('pid', os.getpid(), flush=True)\ntime.sleep(120)\n"


def _interrupt_when_running(magics: Any, found: dict[str, Any], before: tuple[Any, ...] = ()
                            ) -> None:
    """Interrupt the main thread once a run that is not one of ``before`` prints its pid."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = [run for run in magics.runs if run not in before]
        if runs and not runs[-1].done and runs[-1].logs and runs[-1].logs[0].startswith("pid "):
            found["pid"] = int(runs[-1].logs[0].split()[1])
            found["job_id"] = runs[-1].job_id
            _thread.interrupt_main()
            return
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_interrupt_terminates_the_job_and_leaves_no_process(
    ip: Any, local_clients: AwsClients
) -> None:
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    found: dict[str, Any] = {}
    before = tuple(magics.runs)  # runs of earlier cells that may still be settling
    watcher = threading.Thread(target=_interrupt_when_running, args=(magics, found, before))
    watcher.start()
    with pytest.raises(KeyboardInterrupt):
        ip.run_cell_magic("aws_batch", "--local", SLOW_CELL)
    watcher.join()
    run = magics.runs[-1]
    assert run not in before and run.job_id == found["job_id"]  # this cell's own job
    # The cell returns at once; the run settles in the background.
    deadline = time.monotonic() + 30
    while not run.done:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    job = local_clients.batch.describe_jobs(jobs=[run.job_id])["jobs"][0]
    assert job["status"] == "FAILED"
    assert "Interrupted" in job["statusReason"]
    assert _gone(found["pid"])


def test_dry_run_prints_requests_and_submits_nothing(
    ip: Any, local_clients: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs, objects = job_count(local_clients), object_count(local_clients)
    ip.user_ns["params"] = {"alpha": 1}
    result = ip.run_cell_magic(
        "aws_batch",
        "--local --dry-run --push params --env API_TOKEN=hunter2 MODE=fast --outputs '*.csv'",
        "print(params)",
    )
    out = capsys.readouterr().out
    assert result is None
    assert job_count(local_clients) == jobs and object_count(local_clients) == objects
    assert "hunter2" not in out
    assert '"value": "****"' in out and '"value": "fast"' in out
    for section in ("container graph", "RegisterJobDefinition", "SubmitJob", "S3 uploads"):
        assert section in out
    assert ".batchmagic/push.pkl" in out
    submit = json.loads(out.split("== SubmitJob ==\n", 1)[1].split("\n\n==", 1)[0])
    names = [c["name"] for c in submit["ecsPropertiesOverride"]["taskProperties"][0]["containers"]]
    assert names == ["stage-in", "main", "stage-out"]


def test_configuration_precedence(ip: Any, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    monkeypatch.setattr(magics, "cpu", 4.0)  # as ipython_config.py / %config would
    monkeypatch.setattr(magics, "memory", 8192)
    monkeypatch.setenv("BATCHMAGIC_MEMORY", "16384")
    monkeypatch.setenv("BATCHMAGIC_IMAGE", "from-env:1")
    ip.run_line_magic("aws_batch_config", "--image from-session:1")
    settings, sources = magics.effective_settings({"timeout": 120})
    assert (settings.cpu, sources["cpu"]) == (4.0, "config")
    assert (settings.memory, sources["memory"]) == (16384, "environment")
    assert (settings.image, sources["image"]) == ("from-session:1", "session")
    assert (settings.timeout, sources["timeout"]) == (120, "cell")
    assert sources["platform"] == "built-in"
    capsys.readouterr()
    ip.run_line_magic("aws_batch_config", "")
    table = capsys.readouterr().out
    assert "from-session:1" in table and "session" in table
    assert any(line.startswith("memory") and "environment" in line for line in table.splitlines())


def test_no_aws_settings_means_local_with_one_line(ip: Any, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    monkeypatch.setattr(magics, "_told_local", False)  # the note shows once per kernel
    run = ip.run_cell_magic("aws_batch", "", "print('defaulted')")
    assert run.logs == ["defaulted"]
    assert "running on the local emulator" in capsys.readouterr().err


def test_detach_lets_a_blocking_cell_return_and_binds_its_pulls_later(ip: Any) -> None:
    import threading
    import time

    ip.user_ns.pop("to_detach", None)
    ip.user_ns.pop("answer", None)

    def detach_when_running() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = ip.user_ns.get("to_detach")
            if run is not None and run.status == "RUNNING":
                run.detach()
                return
            time.sleep(0.05)

    threading.Thread(target=detach_when_running, daemon=True).start()
    run = ip.run_cell_magic("aws_batch", "--result to_detach --pull answer",
                            "import time\ntime.sleep(8)\nanswer = 42")
    assert run.detached and not run.done  # the cell returned while the job still runs
    assert "answer" not in ip.user_ns
    assert run.done_event.wait(60)
    ip.run_cell("pass")  # the next cell binds what the detached run pulled
    assert ip.user_ns["answer"] == 42


def test_on_shutdown_terminate_says_what_it_terminated(
        ip: Any, local_clients: AwsClients, capsys: pytest.CaptureFixture[str]) -> None:
    from batchmagic.notebook.shutdown import on_kernel_exit

    run = ip.run_cell_magic("aws_batch", "--local --no-wait", "import time\ntime.sleep(60)")
    capsys.readouterr()
    on_kernel_exit([run], "terminate")
    assert capsys.readouterr().err == (
        f"batchmagic: job {run.job_name} ({run.job_id}) terminated as the kernel shut down "
        "(on_shutdown = terminate)\n")
    deadline = time.monotonic() + 60
    while not run.done:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert run.status == "FAILED"
    job = local_clients.batch.describe_jobs(jobs=[run.job_id])["jobs"][0]
    assert job["statusReason"] == "Kernel shut down"
    ip.run_cell("pass")  # lets the finished run go

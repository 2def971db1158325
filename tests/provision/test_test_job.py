"""`batchmagic doctor --submit-test-job` on the emulator: every step of a tiny three-container
job is reported, and a failing step says which one and how to fix it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from batchmagic.aws.clients import AwsClients
from batchmagic.cli import main
from batchmagic.provision.report import FAIL, PASS
from batchmagic.provision.setup import ensure_setup
from batchmagic.provision.testjob import submit_test_job
from batchmagic.settings import Settings

STEPS = ["definition", "queue", "stage inputs", "submit", "log streams", "live tail", "result",
         "outputs"]


def test_doctor_submits_a_test_job_and_reports_each_step(
        name: str, config: Path, emulator_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "--name", name, "--endpoint-url", emulator_url]) == 0
    capsys.readouterr()
    assert main(["doctor", "--submit-test-job"]) == 0
    out = capsys.readouterr().out
    for step in STEPS:
        assert f"PASS  test job: {step}:" in out, (step, out)
    assert "stage-in: " in out and "main: " in out and "stage-out: " in out  # stream names
    assert "'HELLO FROM BATCHMAGIC'" in out
    assert re.search(r"test job: live tail: (1 line, once|\d+ lines, each once), e\.g\. ", out)
    assert " 1 lines" not in out
    assert "FAIL" not in out


def test_a_failing_step_is_named_with_its_fix(clients: AwsClients, name: str) -> None:
    result = ensure_setup(clients, name=name, region="us-east-1")
    clients.batch.update_job_queue(jobQueue=f"{name}-queue", state="DISABLED")
    seen: list[str] = []
    steps = submit_test_job(clients, Settings(**result.settings),
                            report=lambda step: seen.append(step.check), timeout=120)
    assert seen == [step.check for step in steps]  # reported as they happened
    *passed, failed = steps
    assert [s.status for s in passed] == [PASS] * len(passed)
    assert failed.status == FAIL
    assert failed.check in ("test job: queue", "test job: submit")
    assert "DISABLED" in failed.detail or "ENABLED" in failed.detail, failed.detail
    assert failed.fix


def test_the_doctor_magic_submits_the_test_job_too(capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "batchmagic")
    report = ip.run_line_magic("aws_batch_doctor", "--local --submit-test-job")
    shown = capsys.readouterr().out
    assert "PASS  test job: outputs:" in shown  # reported while it ran
    text = repr(report)
    assert "FAIL" not in text, text
    assert "test job: live tail" in text and "test job: submit" in text

"""`batchmagic doctor` and run_doctor against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchmagic.aws.clients import AwsClients
from batchmagic.cli import main
from batchmagic.provision.doctor import fargate_size_problem, run_doctor
from batchmagic.provision.report import FAIL, PASS, render_checks_html, render_checks_text
from batchmagic.provision.setup import ensure_setup
from batchmagic.settings import Settings


def test_doctor_passes_after_setup_and_names_a_disabled_queue(
        clients: AwsClients, name: str, config: Path, emulator_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "--name", name, "--endpoint-url", emulator_url]) == 0
    capsys.readouterr()

    # The endpoint URL comes from the settings file setup wrote.
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert "all 8 checks passed" in out

    clients.batch.update_job_queue(jobQueue=f"{name}-queue", state="DISABLED")
    assert main(["doctor"]) != 0
    out = capsys.readouterr().out
    failing = [line for line in out.splitlines() if " FAIL " in line]
    assert len(failing) == 1, out
    assert failing[0].startswith("job queue")
    assert f"{name}-queue is DISABLED" in failing[0]
    assert "--state ENABLED" in failing[0]


def test_doctor_flags_override_the_settings_file(
        clients: AwsClients, name: str, config: Path, emulator_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    ensure_setup(clients, name=name, region="us-east-1")
    assert main(["doctor", "--endpoint-url", emulator_url, "--bucket", f"{name}-missing",
                 "--queue", f"{name}-queue"]) == 1
    out = capsys.readouterr().out
    assert "NoSuchBucket" in out
    assert "no execution role configured" in out


def test_run_doctor_api_and_renderers(clients: AwsClients, name: str) -> None:
    result = ensure_setup(clients, name=name, region="us-east-1")
    settings = Settings(**result.settings, cpu=1, memory=999)  # not a Fargate size
    checks = run_doctor(clients, settings)
    status = {c.check: c.status for c in checks}
    assert status.pop("job size") == FAIL
    assert set(status.values()) == {PASS}
    text = render_checks_text(checks)
    assert "1 check(s) failed: job size" in text
    html = render_checks_html(checks)
    assert html.startswith("<table>") and "job size" in html and FAIL in html


def test_doctor_without_credentials_fails_cleanly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Real AWS, no credentials anywhere: one clear failure, the rest skipped, no traceback.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["doctor", "--region", "eu-west-1"]) == 1
    out = capsys.readouterr().out
    assert "no AWS credentials found" in out
    assert out.count("SKIP") == 6


@pytest.mark.parametrize(("cpu", "memory", "ok"), [
    (0.25, 512, True), (0.25, 4096, False), (1, 2048, True), (1, 999, False),
    (3, 8192, False), (16, 32768, True), (8, 17000, False),
])
def test_fargate_sizes(cpu: float, memory: int, ok: bool) -> None:
    assert (fargate_size_problem("fargate", cpu, memory) is None) == ok

"""`batchmagic doctor` and run_doctor against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchmagic.aws.clients import AwsClients
from batchmagic.cli import main
from batchmagic.provision.doctor import fargate_size_problem, run_doctor
from batchmagic.provision.report import FAIL, PASS, SKIP, render_checks_html, render_checks_text
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
    # The emulator has no Fargate quota to read: said, not counted as passed.
    assert "no check failed: 10 passed, 1 skipped (Fargate quota)" in out
    assert "network              PASS" in out and "internet gateway" in out

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
    # The emulator has no Service Quotas for Fargate: that check is skipped, not failed.
    assert status.pop("Fargate quota") == SKIP
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
    assert out.count("SKIP") == 9
    credentials = next(line for line in out.splitlines() if line.startswith("credentials"))
    assert credentials.endswith("configure AWS credentials (`aws configure`, --profile, "
                                "AWS_PROFILE), or check the emulator with --local"), credentials
    assert "batchmagic setup" not in credentials  # setup needs the same credentials


def test_doctor_with_an_endpoint_that_does_not_answer_says_so(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--endpoint-url", "http://127.0.0.1:1"]) == 1
    credentials = next(line for line in capsys.readouterr().out.splitlines()
                       if line.startswith("credentials"))
    assert "Could not connect" in credentials
    assert credentials.endswith("`batchmagic emulator --background` starts the local emulator)")


@pytest.mark.parametrize(("cpu", "memory", "ok"), [
    (0.25, 512, True), (0.25, 4096, False), (1, 2048, True), (1, 999, False),
    (3, 8192, False), (16, 32768, True), (8, 17000, False),
])
def test_fargate_sizes(cpu: float, memory: int, ok: bool) -> None:
    assert (fargate_size_problem("fargate", cpu, memory) is None) == ok


def test_doctor_names_subnets_without_a_route_out_and_a_size_above_max_vcpus(
        clients: AwsClients, name: str) -> None:
    result = ensure_setup(clients, name=name, region="us-east-1")
    vpc = clients.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    isolated = clients.ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = clients.ec2.create_security_group(GroupName=f"{name}-sg", Description="t",
                                              VpcId=vpc)["GroupId"]
    ce = f"{name}-isolated"
    clients.batch.create_compute_environment(
        computeEnvironmentName=ce, type="MANAGED", state="ENABLED",
        computeResources={"type": "FARGATE", "maxvCpus": 2, "subnets": [isolated],
                          "securityGroupIds": [group]})
    settings = Settings(**{**result.settings, "compute_environment": ce}, cpu=4, memory=8192)
    import time

    deadline = time.monotonic() + 15
    while clients.batch.describe_compute_environments(computeEnvironments=[ce])[
            "computeEnvironments"][0]["status"] != "VALID" and time.monotonic() < deadline:
        time.sleep(0.05)
    checks = {c.check: c for c in run_doctor(clients, settings)}
    assert checks["network"].status == FAIL and isolated in checks["network"].detail
    assert "NAT gateway" in checks["network"].fix
    assert checks["maxvCpus"].status == FAIL
    assert "jobs of 4 vCPUs cannot start" in checks["maxvCpus"].detail


def test_doctor_local_checks_the_emulator_that_local_cells_use(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--local"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("batchmagic doctor: emulator at http://127.0.0.1:")
    assert "no check failed: 10 passed, 1 skipped (Fargate quota)" in out
    assert "FIX" not in out.splitlines()[2]  # no empty FIX column when nothing needs fixing


def test_setup_gives_its_queue_a_time_limit_for_jobs_that_can_never_start(
        clients: AwsClients, name: str) -> None:
    ensure_setup(clients, name=name, region="us-east-1")
    (queue,) = clients.batch.describe_job_queues(jobQueues=[f"{name}-queue"])["jobQueues"]
    actions = {a["reason"]: a for a in queue["jobStateTimeLimitActions"]}
    assert actions["MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"] == {
        "reason": "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT", "state": "RUNNABLE",
        "maxTimeSeconds": 600, "action": "CANCEL"}

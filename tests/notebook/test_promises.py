"""Documented behaviours that had no test of their own, each through the real path: the magic
in an IPython shell, the emulator over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batchmagic import ConfigurationError, JobFailedError
from batchmagic.aws.clients import AwsClients
from batchmagic.settings import write_settings_file


def test_a_pull_the_cell_did_not_leave_is_named(ip: Any) -> None:
    with pytest.raises(JobFailedError, match="--pull: the cell did not leave missing"):
        ip.run_cell_magic("aws_batch", "--local --pull present missing", "present = 1")
    assert ip.user_ns.get("present") == 1  # what the cell did leave still arrives


def test_name_goes_through_the_job_name_rules(ip: Any, local_clients: AwsClients) -> None:
    run = ip.run_cell_magic("aws_batch", "--local --name 'my job: v2!'", "pass")
    (job,) = local_clients.batch.describe_jobs(jobs=[run.job_id])["jobs"]
    assert job["jobName"].startswith("my-job--v2--") and job["jobName"] == run.job_name


def test_template_names_render_and_env_reaches_the_cell(ip: Any) -> None:
    run = ip.run_cell_magic(
        "aws_batch", "--local --env GREETING='hello world' --pull seen",
        "import os\nseen = ('{{ jobName }}', '{{ runId }}', os.environ['GREETING'])")
    name, run_id, greeting = ip.user_ns["seen"]
    assert (name, greeting) == (run.job_name, "hello world")
    assert run_id and run.job_name.endswith(run_id)


def test_no_wait_pulls_are_bound_before_the_next_cell(ip: Any) -> None:
    ip.user_ns.pop("later", None)
    run = ip.run_cell_magic("aws_batch", "--local --no-wait --pull later", "later = 'bound'")
    assert run.done_event.wait(120)
    assert "later" not in ip.user_ns  # never in the middle of a cell…
    ip.run_cell("x = 1")
    assert ip.user_ns["later"] == "bound"  # …but before the next one


def test_ipython_config_wins_over_the_setup_file_and_loses_to_the_environment(
        ip: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    config = tmp_path / "settings.json"
    monkeypatch.setenv("BATCHMAGIC_CONFIG", str(config))
    write_settings_file({"memory": 3072, "prefix": "from-file"}, config)
    settings, sources = magics.effective_settings({})
    assert (settings.memory, sources["memory"]) == (3072, "setup file")
    monkeypatch.setattr(magics, "memory", 4096)  # %config AwsBatchMagics.memory = 4096
    settings, sources = magics.effective_settings({})
    assert (settings.memory, sources["memory"]) == (4096, "config")
    assert (settings.prefix, sources["prefix"]) == ("from-file", "setup file")
    monkeypatch.setenv("BATCHMAGIC_MEMORY", "5120")
    assert magics.effective_settings({})[0].memory == 5120


def test_profile_region_comes_from_the_aws_config(ip: Any, capsys: pytest.CaptureFixture[str],
                                                  local_clients: AwsClients) -> None:
    aws = Path.home() / ".aws"
    aws.mkdir(exist_ok=True)
    (aws / "config").write_text("[profile scratch]\nregion = eu-west-3\n")
    (aws / "credentials").write_text(
        "[scratch]\naws_access_key_id = x\naws_secret_access_key = y\n")
    url = local_clients.target.endpoint_url
    ip.run_cell_magic("aws_batch", f"--profile scratch --endpoint-url {url} --bucket "
                      "bucket-b --queue q --dry-run", "pass")
    assert "AWS Batch job on FARGATE (eu-west-3)" in capsys.readouterr().out
    with pytest.raises(ConfigurationError, match="AWS profile 'nope'"):
        ip.run_cell_magic("aws_batch", f"--profile nope --endpoint-url {url} --bucket bucket-b "
                          "--queue q --dry-run", "pass")


@pytest.mark.parametrize("name", ["DB_PASSWORD", "GITHUB_TOKEN", "STRIPE_API_KEY",
                                  "SERVICE_SECRET", "MY_PRIVATE_KEY"])
def test_dry_run_masks_secret_looking_values(ip: Any, capsys: pytest.CaptureFixture[str],
                                             name: str) -> None:
    ip.run_cell_magic("aws_batch", f"--local --dry-run --env {name}=hunter2 PLAIN=visible",
                      "pass")
    out = capsys.readouterr().out
    assert "hunter2" not in out and '"value": "****"' in out
    assert "visible" in out


def test_the_run_object_refreshes_and_reports(ip: Any) -> None:
    run = ip.run_cell_magic("aws_batch", "--local --no-wait --pull value",
                            "import time\ntime.sleep(60)\nvalue = 1")
    assert run.refresh().status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
    run.cancel("stopped by the test")
    with pytest.raises(JobFailedError):
        run.wait(timeout=60)
    assert run.refresh().status == "FAILED" and run.pulled == {}
    assert "stopped by the test" in (run.reason or "") + (run.snapshot.status_reason or "")

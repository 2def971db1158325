"""Documented behaviours that had no test of their own, each through the real path: the magic
in an IPython shell, the emulator over HTTP."""

from __future__ import annotations

import sys
import uuid
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


def test_the_cell_wins_over_the_session(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    ip.run_line_magic("aws_batch_config", "--memory 4096 --image from-session:1")
    settings, sources = magics.effective_settings({"memory": 2048})
    assert (settings.memory, sources["memory"]) == (2048, "cell")
    assert (settings.image, sources["image"]) == ("from-session:1", "session")
    capsys.readouterr()
    ip.run_cell_magic("aws_batch", "--local --dry-run --image from-cell:2", "pass")
    out = capsys.readouterr().out
    assert "from-cell:2" in out and "from-session:1" not in out


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


def test_profile_gives_the_runs_credentials(ip: Any, local_clients: AwsClients,
                                           monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    # The profile's credential_process is the only source of credentials: it leaves a mark.
    from batchmagic.provision.setup import ensure_setup

    ready = ensure_setup(local_clients, name=f"p{uuid.uuid4().hex[:8]}",
                         region="eu-west-3").settings
    asked = tmp_path / "credentials-asked"
    script = (f"import json, pathlib; pathlib.Path('{asked}').touch(); print(json.dumps("
              "{'Version': 1, 'AccessKeyId': 'AKIDFROMPROFILE', 'SecretAccessKey': 'x'}))")
    config = tmp_path / "aws-config"
    config.write_text(f'[profile scratch]\nregion = eu-west-3\n'
                      f'credential_process = {sys.executable} -c "{script}"\n')
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    url = local_clients.target.endpoint_url
    run = ip.run_cell_magic(
        "aws_batch", f"--profile scratch --endpoint-url {url} --bucket {ready['bucket']} "
        f"--queue {ready['queue']} --execution-role {ready['execution_role']} "
        f"--task-role {ready['task_role']}", "print('ran')")
    assert run.status == "SUCCEEDED" and run.logs == ["ran"]
    assert asked.exists()
    assert (run.record.profile, run.record.region) == ("scratch", "eu-west-3")


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
    assert run.status == "FAILED" and run.pulled == {}
    assert "stopped by the test" in (run.reason or "")
    ended = run.snapshot  # the follower has stopped: only refresh() describes the job now
    assert run.refresh() is run
    assert run.snapshot is not ended and run.snapshot == ended


def test_the_run_object_holds_what_was_pulled(ip: Any) -> None:
    run = ip.run_cell_magic("aws_batch", "--local --pull value other",
                            "value, other = 1, {'b': [2]}")
    assert run.pulled == {"value": 1, "other": {"b": [2]}}
    assert (ip.user_ns["value"], ip.user_ns["other"]) == (1, {"b": [2]})


def test_prefix_and_user_make_the_run_prefix(ip: Any, local_clients: AwsClients,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "bob")
    run = ip.run_cell_magic("aws_batch", "--local --keep --prefix team/exp1", "pass")
    assert run.location.run_prefix == f"team/exp1/bob/{run.location.run_id}"
    listed = local_clients.s3.list_objects_v2(Bucket=run.location.bucket,
                                              Prefix=f"team/exp1/bob/{run.location.run_id}/in/")
    assert listed.get("KeyCount", 0) > 0


def test_attach_by_name_without_waiting(ip: Any, tmp_path: Path) -> None:
    name = f"named-{uuid.uuid4().hex[:6]}"
    first = ip.run_cell_magic(
        "aws_batch", f"--local --keep --no-wait --name {name} --pull word --outputs w.txt",
        "open('w.txt', 'w').write('again')\nword = 'by name'")
    first.wait(timeout=120)
    ip.user_ns.pop("word")
    (tmp_path / "w.txt").unlink()
    run = ip.run_line_magic("aws_batch_attach", f"{first.job_name} --no-wait --result again")
    assert ip.user_ns["again"] is run and run.job_id == first.job_id
    assert "word" not in ip.user_ns  # returned at once: bound at run.wait() or the next cell
    run.wait(timeout=120)
    assert ip.user_ns["word"] == "by name"
    assert (tmp_path / "w.txt").read_text() == "again"

"""Runs carry only charset-safe tags (the rest is the run's manifest in S3), and requests that
AWS would refuse or fail are refused before anything is uploaded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchmagic import ConfigurationError
from batchmagic.aws.clients import AwsClients
from batchmagic.jobdef.limits import MAX_TAGS, tag_charset_ok
from batchmagic.ledger import Ledger
from tests.helpers import job_count, object_count


@pytest.fixture()
def nothing_uploaded(local_clients: AwsClients) -> Iterator[None]:
    jobs, objects = job_count(local_clients), object_count(local_clients)
    yield
    assert job_count(local_clients) == jobs
    assert object_count(local_clients) == objects


def test_globs_and_several_pulls_keep_tags_valid_and_go_to_the_manifest(
        ip: Any, local_clients: AwsClients) -> None:
    cell = ("import os\nos.makedirs('res', exist_ok=True)\n"
            "open('res/a.txt', 'w').write('a')\nfirst, second = 1, 2\n")
    run = ip.run_cell_magic("aws_batch", "--local --keep --outputs 'res/*.txt' '*.csv' "
                            "--pull first second --output-dir out", cell)
    job = local_clients.batch.describe_jobs(jobs=[run.job_id])["jobs"][0]
    tags = job["tags"]
    assert len(tags) <= MAX_TAGS
    for key, value in tags.items():
        assert tag_charset_ok(key) and tag_charset_ok(value), (key, value)
        assert len(key) <= 128 and len(value) <= 256
    body = local_clients.s3.get_object(Bucket=run.record.bucket,
                                       Key=f"{run.record.run_prefix}/manifest.json")["Body"]
    manifest = json.loads(body.read())
    assert manifest["outputs"] == ["res/*.txt", "*.csv"]
    assert manifest["pull"] == ["first", "second"]
    assert manifest["output_dir"] == "out"
    assert manifest["source_hash"] == run.record.source_hash
    assert tags["batchmagic:prefix"] == run.record.run_prefix


def test_env_values_over_the_override_limit_are_refused_before_upload(
        ip: Any, nothing_uploaded: None) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ip.run_cell_magic("aws_batch", f"--local --env BIG={'x' * 9000}", "pass")
    message = str(caught.value)
    assert re.match(r"--env values total 9,\d{3} characters; ", message), message
    assert "Batch allows 8,192 for all overrides" in message
    assert "put large values in an input file" in message


def test_a_tag_value_aws_refuses_is_refused_before_upload(
        ip: Any, nothing_uploaded: None) -> None:
    with pytest.raises(ConfigurationError, match="batchmagic:prefix"):
        ip.run_cell_magic("aws_batch", "--local --prefix 'runs#1'", "pass")


def test_dry_run_refuses_what_aws_would_refuse(ip: Any) -> None:
    with pytest.raises(ConfigurationError, match="--env values total"):
        ip.run_cell_magic("aws_batch", f"--local --dry-run --env BIG={'x' * 9000}", "pass")


def test_attach_from_another_machine_reads_globs_and_pulls_from_the_manifest(
        ip: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    cell = ("import os\nos.makedirs('res', exist_ok=True)\n"
            "open('res/a.txt', 'w').write('a')\nfirst, second = 'one', 'two'\n")
    started = ip.run_cell_magic("aws_batch", "--local --keep --no-wait --outputs 'res/*.txt' "
                                "--pull first second --output-dir out", cell)
    started.wait(timeout=120)
    for name in ("first", "second"):
        ip.user_ns.pop(name)
    # Another machine: an empty ledger, another working directory, only the job id.
    monkeypatch.setattr(magics, "ledger", Ledger(tmp_path / "other" / "runs.sqlite3"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    run = ip.run_line_magic("aws_batch_attach", started.job_id)
    assert (ip.user_ns["first"], ip.user_ns["second"]) == ("one", "two")
    assert run.record.outputs == ("res/*.txt",)
    assert (elsewhere / "out" / "res" / "a.txt").read_text() == "a"  # the output-dir hint
    assert run.warnings == []

"""%%aws_batch end to end through a real InteractiveShell and the local emulator over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batchmagic import JobFailedError
from batchmagic.aws.clients import AwsClients
from tests.helpers import object_count


def test_cell_runs_and_pulls_variables(ip: Any) -> None:
    ip.user_ns["base"] = 40
    run = ip.run_cell_magic(
        "aws_batch", "--local --push base --pull answer", "answer = base + 2\nprint('hello')"
    )
    assert ip.user_ns["answer"] == 42
    assert run.status == "SUCCEEDED"
    assert run.exit_code == 0
    assert "hello" in run.logs
    assert run.duration is not None and run.duration > 0


def test_inputs_and_outputs_keep_their_layout(ip: Any, tmp_path: Path) -> None:
    (tmp_path / "data" / "sub").mkdir(parents=True)
    (tmp_path / "data" / "a.txt").write_text("alpha")
    (tmp_path / "data" / "sub" / "b.txt").write_text("beta")
    cell = (
        "import os\n"
        "text = open('data/a.txt').read() + open('data/sub/b.txt').read()\n"
        "os.makedirs('results', exist_ok=True)\n"
        "open('results/joined.txt', 'w').write(text)\n"
        "open('{{ outputDir }}/extra.txt', 'w').write('from outputDir')\n"
        "open('not-declared.txt', 'w').write('stays remote')\n"
    )
    run = ip.run_cell_magic(
        "aws_batch", "--local --inputs data --outputs results/* --output-dir out", cell
    )
    out = tmp_path / "out"
    assert (out / "results" / "joined.txt").read_text() == "alphabeta"
    assert (out / "extra.txt").read_text() == "from outputDir"
    assert not (out / "not-declared.txt").exists()
    assert sorted(run.files) == sorted([out / "results" / "joined.txt", out / "extra.txt"])
    assert not list(out.rglob("*.tmp*")), "no temporary files may be left behind"


def test_kestra_outputs_and_protocol_lines(ip: Any) -> None:
    cell = (
        "from kestra import Kestra\n"
        "Kestra.outputs({'rows': 3})\n"
        "print('::' + __import__('json').dumps({'outputs': {'name': 'x'}}) + '::')\n"
    )
    run = ip.run_cell_magic("aws_batch", "--local", cell)
    assert run.outputs == {"rows": 3, "name": "x"}
    assert not any(line.startswith("::{") for line in run.logs)


def test_remote_exception_names_type_and_keeps_partial_files(ip: Any, tmp_path: Path) -> None:
    cell = (
        "open('partial.txt', 'w').write('before')\n"
        "print('about to fail')\n"
        "raise ValueError('bad data in row 7')\n"
    )
    with pytest.raises(JobFailedError) as caught:
        ip.run_cell_magic("aws_batch", "--local --outputs partial.txt --result failed", cell)
    message = str(caught.value)
    assert "ValueError: bad data in row 7" in message
    assert "main exited 1" in message
    run = ip.user_ns["failed"]
    assert run.job_id in message
    assert run.exit_code == 1
    assert "about to fail" in run.logs
    assert (tmp_path / "partial.txt").read_text() == "before"


def test_run_prefix_deleted_unless_keep(ip: Any, local_clients: AwsClients) -> None:
    before = object_count(local_clients)
    ip.run_cell_magic("aws_batch", "--local", "print('tidy')")
    assert object_count(local_clients) == before
    run = ip.run_cell_magic("aws_batch", "--local --keep", "print('kept')")
    listed = local_clients.s3.list_objects_v2(Bucket=run.location.bucket,
                                             Prefix=run.location.run_prefix)
    assert listed.get("KeyCount", 0) > 0


def test_a_root_prefix_puts_runs_at_the_user_without_a_leading_slash(
        ip: Any, local_clients: AwsClients, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "ann")
    run = ip.run_cell_magic("aws_batch", "--local --keep --prefix /",
                            "open('{{ outputDir }}/back.txt', 'w').write('ok')")
    assert run.status == "SUCCEEDED"
    assert run.location.run_prefix == f"ann/{run.location.run_id}"
    listed = local_clients.s3.list_objects_v2(Bucket=run.location.bucket, Prefix="ann/")
    keys = [obj["Key"] for obj in listed.get("Contents", [])]
    assert any(key.startswith(f"ann/{run.location.run_id}/in/") for key in keys)
    assert any(key.startswith(f"ann/{run.location.run_id}/out/") for key in keys)
    assert not local_clients.s3.list_objects_v2(Bucket=run.location.bucket,
                                                Prefix="/").get("KeyCount")


def test_no_wait_returns_at_once_and_binds_on_wait(ip: Any) -> None:
    run = ip.run_cell_magic("aws_batch", "--local --no-wait --pull late",
                            "import time\ntime.sleep(1)\nlate = 'here'")
    assert not run.done
    assert "late" not in ip.user_ns
    run.wait(timeout=60)
    assert ip.user_ns["late"] == "here"
    assert json.loads(json.dumps(run.outputs)) == {}


def test_a_run_reports_its_usage_cost_and_a_better_size(ip: Any) -> None:
    run = ip.run_cell_magic(
        "aws_batch", "--cpu 4 --memory 16384 --result run",
        "import time\nblock = bytearray(200 * 1024 * 1024)\n"
        "block[::4096] = b'x' * len(block[::4096])\n"
        "time.sleep(5)")
    usage = run.usage
    assert usage is not None and 200 <= usage.max_rss_mib < 1024
    assert usage.wall_seconds >= 5 and usage.cpu_seconds >= 0
    # The emulator says what the run would have cost on Fargate (4 vCPU, 16 GB, >= 1 minute).
    assert run.cost_usd is not None and run.cost_usd >= (4 * 0.04048 + 16 * 0.004445) / 60
    assert "on Fargate" in str(run.cost)
    from batchmagic.notebook.format import summary_lines

    lines = summary_lines(run)
    assert any(line.startswith("cost: ≈ $") for line in lines)
    assert any(line.startswith("usage: peak memory") for line in lines)
    assert any(line.startswith("sizing: used") and "--cpu" in line for line in lines)

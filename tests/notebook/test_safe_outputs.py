"""Outputs never bring back what lies outside the job's work dir, and say what they skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batchmagic.aws.clients import AwsClients
from batchmagic.errors import ConfigurationError, JobFailedError
from tests.helpers import job_count

HOST_FILE_TEXT = "a file of the machine, not of the job\n"


def test_links_out_of_the_work_dir_are_skipped_and_named(ip: Any, tmp_path: Path) -> None:
    host = tmp_path.parent / f"{tmp_path.name}-host.txt"
    host.write_text(HOST_FILE_TEXT)
    cell = (
        "import os\n"
        f"os.symlink({str(host)!r}, 'host.txt')\n"
        "os.symlink('/', 'root')\n"
        "os.symlink('kept.txt', 'alias.txt')\n"
        "open('kept.txt', 'w').write('mine')\n"
    )
    run = ip.run_cell_magic(
        "aws_batch", "--local --outputs '*.txt' 'root/*' --output-dir out", cell)
    out = tmp_path / "out"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["kept.txt"]
    assert (out / "kept.txt").read_text() == "mine"
    warnings = "\n".join(run.warnings)
    assert f"host.txt was not brought back: a symbolic link to a path outside the work dir " \
           f"(-> {host})" in warnings
    assert "root was not brought back" in warnings
    assert "alias.txt was not brought back: a symbolic link inside the work dir" in warnings


def test_one_bad_key_costs_nothing_else(ip: Any, tmp_path: Path) -> None:
    cell = ("open('ok.txt', 'w').write('fine')\n"
            "open('back\\\\slash.txt', 'w').write('a name Windows cannot hold')\n"
            "x = 7\n")
    run = ip.run_cell_magic("aws_batch", "--local --outputs '*.txt' --pull x --output-dir out",
                            cell)
    assert (tmp_path / "out" / "ok.txt").read_text() == "fine"
    assert ip.user_ns["x"] == 7
    assert [w for w in run.warnings if "not downloaded" in w] == [
        f"{run.location.out_prefix}back\\slash.txt was not downloaded: its name has characters "
        "a file name cannot hold here"]


def test_an_output_dir_that_cannot_exist_is_refused_before_submit(
        ip: Any, tmp_path: Path, local_clients: AwsClients) -> None:
    (tmp_path / "file.txt").write_text("a file, not a directory")
    jobs = job_count(local_clients)
    with pytest.raises(ConfigurationError) as caught:
        ip.run_cell_magic("aws_batch", "--local --output-dir file.txt/sub", "x = 1")
    assert str(caught.value) == (f"--output-dir {tmp_path / 'file.txt/sub'}: cannot be created "
                                 "(Not a directory)")
    assert job_count(local_clients) == jobs


def test_stage_out_has_a_time_budget_of_its_own(ip: Any, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHMAGIC_STAGE_OUT_BUDGET", "0")
    cell = ("import os\nos.makedirs('many', exist_ok=True)\n"
            "for i in range(600):\n    open(f'many/{i}.txt', 'w').write(str(i))\n")
    with pytest.raises(JobFailedError) as caught:
        ip.run_cell_magic("aws_batch", "--local --outputs 'many/*' --output-dir out", cell)
    assert "stage-out exceeded its time budget of 0 s" in str(caught.value)
    run = caught.value.run
    assert any(w.startswith("stage-out exceeded its time budget of 0 s and the job was "
                            "stopped") for w in run.warnings), run.warnings
    assert len(run.files) < 600

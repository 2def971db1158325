"""run.outcome and the summary say what happened to the cell, with Batch's status as detail."""

from __future__ import annotations

from typing import Any

import pytest

from batchmagic import JobFailedError
from batchmagic.run.outcome import Outcome


def _failed_run(ip: Any, cell: str) -> Any:
    with pytest.raises(JobFailedError) as caught:
        ip.run_cell_magic("aws_batch", "--local", cell)
    return caught.value.run


def test_a_cell_that_raises_is_cell_failed_though_batch_says_succeeded(
        ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run = _failed_run(ip, "raise ValueError('no good')")
    assert run.status == "SUCCEEDED"
    assert run.outcome is Outcome.CELL_FAILED and run.outcome == "cell failed"
    assert str(run.verdict) == "cell failed (ValueError)"
    assert "cell failed (ValueError) - Batch SUCCEEDED" in capsys.readouterr().out
    assert "outcome=cell failed (ValueError)" in repr(run)
    # The jobs table says it too, after Batch's word (the ledger keeps the outcome).
    table = ip.run_line_magic("aws_batch_jobs", "--limit 50")
    row = next(r for r in table if r["job id"] == run.job_id)
    assert row["status"] == "SUCCEEDED (cell failed)"


def test_a_killed_cell_is_killed_out_of_memory_perhaps(ip: Any) -> None:
    run = _failed_run(ip, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    assert run.exit_code == 137
    assert str(run.verdict) == "killed (out of memory?)"


def test_a_good_cell_succeeded(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run = ip.run_cell_magic("aws_batch", "--local", "print('fine')")
    assert run.outcome is Outcome.SUCCEEDED and run.outcome.ok
    out = capsys.readouterr().out
    assert "[batchmagic] succeeded - Batch SUCCEEDED, main exit code 0 in " in out


def test_a_run_cancelled_before_main_ran_says_main_has_no_exit_code(
        ip: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for i in range(100):  # a stage-in that takes a moment: the cancel lands before main runs
        (data / f"{i:03}.txt").write_text("x")
    run = ip.run_cell_magic("aws_batch", "--local --no-wait --inputs data", "print('never')")
    run.cancel()
    with pytest.raises(JobFailedError):
        run.wait(timeout=60)
    assert run.exit_code is None and run.outcome is Outcome.TERMINATED
    summary = [line for line in capsys.readouterr().out.splitlines() if "- Batch FAILED" in line]
    assert len(summary) == 1 and "main has no exit code" in summary[0], summary
    assert "None" not in summary[0]


def test_a_run_that_failed_after_main_exited_0_reads_as_one_clean_line(
        ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(JobFailedError) as caught:
        ip.run_cell_magic("aws_batch", "--local --pull never_defined", "x = 1")
    assert str(caught.value.run.verdict) == "failed (--pull: the cell did not leave never_defined)"
    summary = [line for line in capsys.readouterr().out.splitlines() if " - Batch " in line][-1]
    assert "main exit code 0 in " in summary, summary  # no Batch reason after a clean exit

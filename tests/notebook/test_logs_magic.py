"""%aws_batch_logs prints a job's whole log from CloudWatch Logs, beyond the widget's tail."""

from __future__ import annotations

from typing import Any

import pytest


def test_logs_magic_prints_every_line_of_a_container(
        ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run = ip.run_cell_magic("aws_batch", "--local --log-tail 5",
                            "for i in range(300):\n    print(f'row {i}')")
    assert len(run.logs) == 300 and run.log_text("main").splitlines()[-1] == "row 299"
    capsys.readouterr()
    ip.run_line_magic("aws_batch_logs", run.job_id)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"row {i}" for i in range(300)]
    ip.run_line_magic("aws_batch_logs", f"{run.job_id} --container main --tail 2")
    assert capsys.readouterr().out.splitlines() == ["batchmagic: last 2 of 300 lines",
                                                    "row 298", "row 299"]
    ip.run_line_magic("aws_batch_logs", f"{run.job_name} --container stage-in")
    assert capsys.readouterr().out.strip()


def test_a_finished_job_without_lines_says_so_without_yet(
        ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run = ip.run_cell_magic("aws_batch", "--local", "x = 1")  # prints nothing
    capsys.readouterr()
    ip.run_line_magic("aws_batch_logs", run.job_id)
    assert capsys.readouterr().out.splitlines() == ["batchmagic: main wrote no log lines"]


def test_tail_must_be_positive(ip: Any) -> None:
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="--tail: -3: use a whole number of at least 1"):
        ip.run_line_magic("aws_batch_logs", "some-job --tail -3")

"""Where a run's time goes, on the emulator: run.timeline, the summary line, the ledger, and the
staging progress a cell prints."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from batchmagic.ledger import Ledger
from batchmagic.run.timeline import PHASES

CELL = "import time\ntime.sleep(0.3)\nopen('out.txt', 'w').write(open('in.txt').read())\n"


def _run(ip: Any, tmp_path: Path) -> tuple[Any, float]:
    (tmp_path / "in.txt").write_text("staged")
    start = time.time()
    run = ip.run_cell_magic("aws_batch", "--local --inputs in.txt --outputs out.txt", CELL)
    return run, time.time() - start


def test_a_run_has_every_phase_in_order_adding_up_to_its_wall_time(
    ip: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, wall = _run(ip, tmp_path)
    timeline = run.timeline
    assert [phase.name for phase in timeline] == list(PHASES)
    assert all(phase.duration >= 0 for phase in timeline), timeline
    for before, after in itertools.pairwise(timeline):
        assert after.start == pytest.approx(before.start + before.duration, abs=1e-6)
    # The phases cover the cell from its start to the run's end; what is left is parsing the
    # magic line and showing the summary.
    total = sum(phase.duration for phase in timeline)
    assert total <= wall and wall - total < 0.5, (wall, timeline)
    assert timeline["main"].duration >= 0.3, timeline  # the cell's own sleep
    assert timeline[0].start >= time.time() - wall - 1
    printed = capsys.readouterr().out
    summary = [line for line in printed.splitlines() if line.startswith("[batchmagic] time: ")]
    assert len(summary) == 1 and " · main " in summary[0], printed
    shown, _ = ip.display_formatter.format(timeline)  # evaluated in Jupyter: a bar chart
    assert "batchmagic-timeline" in shown["text/html"] and "stage-in" in shown["text/plain"]


def test_the_ledger_keeps_the_timeline_and_the_jobs_table_shows_the_duration(
    ip: Any, tmp_path: Path
) -> None:
    run, _ = _run(ip, tmp_path)
    record = Ledger().find(run.job_id)
    assert record is not None
    assert [name for name, _, _ in record.timeline] == list(PHASES)
    assert record.timeline == run.timeline.to_tuples()
    table = ip.run_line_magic("aws_batch_jobs", "--limit 5")
    row = next(r for r in table if r["job id"] == run.job_id)
    assert row["duration"].endswith(" s"), row
    assert "duration" in repr(table).splitlines()[0]


def test_a_small_staging_prints_no_progress_bar(
    ip: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(ip, tmp_path)
    printed = capsys.readouterr().out
    assert "▕" not in printed and not any(
        line.startswith(("upload", "download")) for line in printed.splitlines()), printed
    summary = next(line for line in printed.splitlines() if line.startswith("[batchmagic] time:"))
    assert " upload 0." in summary and " download 0." in summary, summary  # durations only


def test_a_staging_past_the_delay_prints_its_bar_and_final_line(
    ip: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same small cell, with the bar shown from the first byte instead of after a second.
    monkeypatch.setattr("batchmagic.aws.progress.PROGRESS_DELAY", 0.0)
    _run(ip, tmp_path)
    lines = capsys.readouterr().out.splitlines()
    for direction in ("upload", "download"):
        bars = [line for line in lines if line.startswith(direction) and "▕" in line]
        final = [line for line in lines
                 if line.startswith(f"{direction} ") and " files in " in line]
        assert bars and len(final) == 1, lines


def test_a_reattached_run_starts_its_timeline_at_the_queue(ip: Any) -> None:
    first = ip.run_cell_magic("aws_batch", "--local --keep --no-wait", "print('again')")
    first.wait(timeout=120)
    again = ip.run_line_magic("aws_batch_attach", first.job_id)
    names = [phase.name for phase in again.timeline]
    # This kernel never saw it prepared, uploaded or submitted: Batch's createdAt starts it.
    assert names == ["queue", "stage-in", "main", "stage-out", "download", "cleanup"], names
    assert all(phase.duration >= 0 for phase in again.timeline)
    assert again.timeline[0].start == pytest.approx(first.timeline["queue"].start, abs=1.5)

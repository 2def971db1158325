"""How staging progress and the timeline read: the text line, the header bar, the chart."""

from __future__ import annotations

from batchmagic.aws.progress import TransferProgress
from batchmagic.notebook.progress_view import StagingBar, TextProgress, progress_line
from batchmagic.notebook.timeline_view import format_duration, timeline_chart_html, timeline_line
from batchmagic.run.timeline import Timeline

MB = 1_000_000


def _progress(done: int, files: int, *, finished: bool = False) -> TransferProgress:
    return TransferProgress("upload", done, 300 * MB, files, 12, done / (25 * MB),
                            finished=finished, speed=25 * MB)


def test_the_summary_line_reads_like_the_readme() -> None:
    durations = [("prepare", 0.02), ("upload", 12.1), ("submit", 0.2), ("queue", 41.0),
                 ("stage-in", 3.0), ("main", 130.0), ("stage-out", 4.0), ("download", 8.3),
                 ("cleanup", 0.05)]
    start, rows = 1_800_000_000.0, []
    for name, duration in durations:
        rows.append((name, start, duration))
        start += duration
    timeline = Timeline.from_tuples(rows)
    assert timeline_line(timeline) == (
        "upload 12.1 s · queue 41 s · stage-in 3 s · main 2 m 10 s · stage-out 4 s · "
        "download 8.3 s")
    chart = timeline_chart_html(timeline)
    assert chart.count('title="') == 9 and 'title="main 2 m 10 s"' in chart


def test_durations_read_at_a_glance() -> None:
    assert [format_duration(s) for s in (0.031, 0.5, 1.0, 8.34, 41.2, 130, 3600, 3900)] == [
        "0.03 s", "0.50 s", "1 s", "8.34 s", "41.2 s", "2 m 10 s", "1 h", "1 h 5 m"]


def test_a_progress_line_has_bytes_files_rate_and_eta() -> None:
    line = progress_line(_progress(120 * MB, 5))
    assert line.startswith("upload    40% ▕")
    assert "120 MB/300 MB · 5/12 files · 25 MB/s · ETA 7.2 s" in line
    done = progress_line(_progress(300 * MB, 12, finished=True))
    assert done == "upload 300 MB, 12 files in 12 s (25 MB/s)"


def test_a_terminal_redraws_one_line_and_a_transcript_gets_milestones() -> None:
    written: list[str] = []
    live = TextProgress(written.append, live=True)
    for step in range(1, 13):
        live.update(_progress(step * 25 * MB, step))
    live.update(_progress(300 * MB, 12, finished=True))
    assert all(text.startswith("\r") for text in written)
    assert "".join(written).count("\n") == 1 and written[-1].endswith("\n")
    saved: list[str] = []
    transcript = TextProgress(saved.append, live=False)
    for step in range(1, 13):
        transcript.update(_progress(step * 25 * MB, step))
    transcript.update(_progress(300 * MB, 12, finished=True))
    assert 3 <= len(saved) <= 6 and all(text.endswith("\n") and "\r" not in text
                                        for text in saved)
    assert saved[-1].startswith("upload 300 MB, 12 files in ")


def test_the_header_bar_shows_only_while_a_transfer_shows() -> None:
    bar = StagingBar()
    assert bar.widget.layout.display == "none"
    bar.update(_progress(150 * MB, 6))
    assert bar.widget.layout.display == "flex"
    assert bar.widget.children[0].value == 0.5
    assert "6/12 files" in bar.widget.children[1].value
    bar.update(_progress(300 * MB, 12, finished=True))
    assert bar.widget.layout.display == "none"

"""How a staging transfer shows: a line of text, and a small progress bar widget for the header.

    upload  45% ▕█████▌      ▏ 120/268 MB · 5/12 files · 24.8 MB/s · ETA 6 s
    upload 268 MB, 12 files in 10.8 s (24.8 MB/s)
"""

from __future__ import annotations

import html
from collections.abc import Callable

from batchmagic.aws.progress import TransferProgress
from batchmagic.notebook.timeline_view import format_duration

BAR_WIDTH = 12
_BLOCKS = " ▏▎▍▌▋▊▉█"


def format_bytes(count: float) -> str:
    """Decimal units, as S3 and the AWS console count them."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(count) < 999.5 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.3g} {unit}"
        count /= 1000
    return f"{count:.3g} TB"  # pragma: no cover - the loop returns at GB


def _bar(fraction: float) -> str:
    eighths = round(max(0.0, min(1.0, fraction)) * BAR_WIDTH * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (_BLOCKS[part] if part else "")).ljust(BAR_WIDTH)


def progress_facts(progress: TransferProgress) -> str:
    """``120/268 MB · 5/12 files · 24.8 MB/s · ETA 6 s``."""
    facts = [f"{format_bytes(progress.bytes_done)}/{format_bytes(progress.bytes_total)}",
             f"{progress.files_done}/{progress.files_total} files",
             f"{format_bytes(progress.rate)}/s"]
    if progress.eta is not None and progress.bytes_done < progress.bytes_total:
        facts.append(f"ETA {format_duration(progress.eta)}")
    return " · ".join(facts)


def progress_line(progress: TransferProgress) -> str:
    """One line of a transfer under way (or done, when ``finished``)."""
    if progress.finished:
        return finished_line(progress)
    return (f"{progress.direction:<8} {progress.fraction:4.0%} ▕{_bar(progress.fraction)}▏ "
            f"{progress_facts(progress)}")


def finished_line(progress: TransferProgress) -> str:
    how = "" if progress.complete else " (stopped)"
    return (f"{progress.direction} {format_bytes(progress.bytes_done)}, "
            f"{progress.files_done} files in {format_duration(progress.elapsed)} "
            f"({format_bytes(progress.rate)}/s){how}")


class TextProgress:
    """A transfer as text: one line redrawn in place on a terminal (``live``), else a few
    milestone lines (the bar's start, each quarter, the end) that read well in a saved
    transcript."""

    def __init__(self, write: Callable[[str], None], *, live: bool) -> None:
        self._write = write
        self._live = live
        self._width = 0
        self._quarter = -1

    def update(self, progress: TransferProgress) -> None:
        line = progress_line(progress)
        if self._live:
            end = "\n" if progress.finished else ""
            self._write("\r" + line.ljust(self._width) + end)
            self._width = 0 if progress.finished else max(self._width, len(line))
        else:
            quarter = int(progress.fraction * 4)
            if progress.finished or quarter > self._quarter:
                self._write(line + "\n")
                self._quarter = quarter
        if progress.finished:
            self._quarter = -1


class StagingBar:
    """The header's progress bar: hidden until a transfer shows, hidden again once it is over
    (the summary's timeline gives the durations)."""

    def __init__(self) -> None:
        import ipywidgets as widgets

        self._bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, bar_style="info",
                                          layout=widgets.Layout(width="200px"))
        self._label = widgets.HTML()
        self.widget = widgets.HBox([self._bar, self._label],
                                   layout=widgets.Layout(display="none"))

    def update(self, progress: TransferProgress) -> None:
        if progress.finished:
            self.widget.layout.display = "none"
            return
        self._bar.value = progress.fraction
        self._bar.description = progress.direction
        self._label.value = (f'<span style="font-size:12px">{progress.fraction:.0%} · '
                             f"{html.escape(progress_facts(progress))}</span>")
        self.widget.layout.display = "flex"

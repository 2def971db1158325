"""Runs as plain text: terminal IPython, and Jupyter frontends without widgets."""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable

from batchmagic.aws.progress import TransferProgress
from batchmagic.jobdef.layout import MAIN
from batchmagic.notebook.format import format_elapsed, header_facts, summary_lines, where_to_read
from batchmagic.notebook.progress_view import TextProgress
from batchmagic.run.handle import Run
from batchmagic.run.logbook import read_line


class TextDisplay:
    """Plain text for terminal IPython and frontends without widgets.

    Lines are queued by background threads and printed, a batch per write, by whoever calls
    ``flush`` (the thread waiting on the run), so they land in the right cell. Each line's
    newline is written when the next line comes, so a progress update (a line starting with
    ``\\r``) can redraw the line before it in place, as in a terminal.

    ``limit`` (characters of log text) bounds what is printed where it is saved with the notebook
    (a Jupyter kernel without widgets); past it, lines are counted, and the end says how many
    were left out and where they all are.
    """

    def __init__(self, out: Callable[[str], None] | None = None, *,
                 limit: int | None = None) -> None:
        self._out = out or _write_stdout
        self._limit = limit
        self._printed = 0
        self._left_out = 0
        self._where = "run.logs"
        self._queue: queue.SimpleQueue[tuple[str, str | None]] = queue.SimpleQueue()
        self._last_status = ""
        self._open: tuple[str, int] | None = None  # (container, width) of the unfinished line
        self._flushing = threading.Lock()
        # A transfer's line is redrawn in place on a terminal; elsewhere (a saved transcript, a
        # captured stream) it is a few milestone lines.
        self._progress = TextProgress(self._out, live=out is None and sys.stdout.isatty())

    def attach(self, run: Run) -> None:
        self._where = ", ".join(where_to_read(run, MAIN))
        facts = header_facts(run)
        self._note(f"{run.job_name} ({run.job_id}) - {facts.get('where', '')}")

    def _note(self, text: str) -> None:
        self._queue.put(("", f"[batchmagic] {text}"))

    def status(self, run: Run) -> None:
        if run.status != self._last_status:
            self._last_status = run.status
            self._note(f"{run.status} after {format_elapsed(run.elapsed())}")

    def lines(self, container: str, lines: list[str], stream: str = "stdout") -> None:
        for line in lines:
            self._queue.put((container, line))

    def note(self, text: str) -> None:
        self._note(text)

    def finished(self, run: Run) -> None:
        if self._left_out:
            self._note(f"… {self._left_out:,} more log lines not shown here; all of them: "
                       f"{self._where}")
            self._left_out = 0
        for line in summary_lines(run):
            self._note(line)
        self._queue.put(("", None))  # end the last line

    def show_again(self, run: Run) -> None:
        self._note(f"{run.job_name} ({run.job_id})")
        self.finished(run)
        self.flush()

    def staging(self, progress: TransferProgress) -> None:
        # From transfer threads, while the cell's thread uploads (or waits): what is queued goes
        # out first, its last line ended, then the transfer's line.
        with self._flushing:
            self._drain()
            if self._open is not None:
                self._out("\n")
                self._open = None
            self._progress.update(progress)

    def flush(self) -> None:
        with self._flushing:
            self._drain()

    def _drain(self) -> None:
        parts: list[str] = []
        while True:
            try:
                container, message = self._queue.get_nowait()
            except queue.Empty:
                break
            parts.append(self._render(container, message))
        if parts:
            self._out("".join(parts))

    def _render(self, container: str, message: str | None) -> str:
        start = "\n" if self._open is not None else ""
        if message is None:
            self._open = None
            return start
        text, replaces = read_line(message)
        if container and self._limit is not None:
            if self._printed >= self._limit:
                self._left_out += 0 if replaces else 1
                return ""
            self._printed += len(text) + 1
        text = ("" if container in ("", MAIN) else f"[{container}] ") + text
        if replaces and self._open is not None and self._open[0] == container:
            # Redraw in place: back to the line's start, pad over a longer previous state.
            start, text = "\r", text.ljust(self._open[1])
        self._open = (container, len(text.rstrip()))
        return start + text


def _write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()

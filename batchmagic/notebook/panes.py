"""One container's log pane in the widget: a bounded tail, sent in appended pieces.

Why pieces: ipywidgets' ``Output.append_stdout`` re-sends the widget's whole output list on each
call (``widget_output.py``: ``self.outputs += (...)``), so a log shown line by line costs the
square of its size on the wire. Here each flush appends one new ``Output`` *chunk* holding only
the new lines (its outputs assigned once, as a tuple); the pane is a ``VBox`` of chunks, so a
flush sends the new text plus a list of model ids. To keep that list short, neighbouring small
chunks are merged like a binary counter (each line is re-sent at most log2(tail) times), and the
oldest chunks are dropped once the newer ones hold the tail.

The newest line lives apart, in a one-line ``live`` output: a progress bar's updates (lines that
start with ``\\r``) replace it in place, costing one line each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batchmagic.run.logbook import read_line

Notice = Callable[[int, int], str]
"""HTML for "N earlier lines are not shown" given (hidden lines, all lines)."""


def stream_output(lines: list[str]) -> dict[str, Any]:
    """One nbformat stream output holding ``lines``."""
    text = "".join(f"{line}\n" for line in lines)
    return {"output_type": "stream", "name": "stdout", "text": text}


@dataclass
class Chunk:
    widget: Any
    lines: list[str]


class LogPane:
    """The widgets of one container's log: a notice, chunks of lines, the live last line.

    ``add`` runs on whichever thread delivers lines and only queues; ``flush`` and ``finish``
    (the display's ticker, or the thread ending the run) touch the widgets.
    """

    def __init__(self, widgets: Any, tail: int, notice: Notice) -> None:
        self.tail = max(1, tail)
        self._widgets = widgets
        self._notice_html = notice
        self._chunk_layout = widgets.Layout(margin="0", padding="0")
        self.notice = widgets.HTML(layout=widgets.Layout(display="none"))
        self.live = widgets.Output(layout=self._chunk_layout)
        self.box = widgets.VBox([self.notice, self.live])
        self._chunks: list[Chunk] = []
        self._lock = threading.Lock()
        self._sealed: list[str] = []  # complete lines waiting for the next flush
        self._last: str | None = None  # the newest line: a progress update may replace it
        self._live_text: str | None = None  # what ``live`` shows
        self._hidden_shown = 0
        self.total = 0
        """Lines of this container so far (a replaced line counts once)."""

    # --- any thread ------------------------------------------------------------------------
    def add(self, messages: list[str]) -> None:
        with self._lock:
            for message in messages:
                text, replaces = read_line(message)
                if replaces and self._last is not None:
                    self._last = text
                    continue
                if self._last is not None:
                    self._sealed.append(self._last)
                self._last = text
                self.total += 1
            if len(self._sealed) > 2 * self.tail:  # only the last `tail` can ever be shown
                del self._sealed[:-self.tail]

    # --- the flushing thread ---------------------------------------------------------------
    def flush(self) -> bool:
        """Send what came since the last flush; True for a flood: a quarter of the tail or more
        at once (at 4 flushes a second, lines faster than anyone reads them)."""
        with self._lock:
            sealed, self._sealed = self._sealed, []
            last = self._last
        changed = False
        if sealed:
            self._append(sealed[-self.tail:])
            changed = True
        if last != self._live_text:
            self.live.outputs = (stream_output([last]),) if last is not None else ()
            self._live_text = last
        if changed:
            self.box.children = (self.notice, *(c.widget for c in self._chunks), self.live)
        self._update_notice()
        return len(sealed) >= max(1, self.tail // 4)

    def finish(self) -> None:
        """Flush, then hold exactly the last ``tail`` lines (one chunk, sent once)."""
        self.flush()
        keep = self.tail - (1 if self._live_text is not None else 0)
        lines = [line for chunk in self._chunks for line in chunk.lines]
        if len(lines) > keep:
            for chunk in self._chunks:
                chunk.widget.close()
            self._chunks = [self._chunk(lines[-keep:])] if keep > 0 else []
            self.box.children = (self.notice, *(c.widget for c in self._chunks), self.live)
        self._update_notice()

    @property
    def shown(self) -> int:
        """Lines on screen now."""
        return sum(len(c.lines) for c in self._chunks) + (self._live_text is not None)

    def _chunk(self, lines: list[str]) -> Chunk:
        widget = self._widgets.Output(layout=self._chunk_layout,
                                      outputs=(stream_output(lines),))
        return Chunk(widget, lines)

    def _append(self, lines: list[str]) -> None:
        chunks = self._chunks
        chunks.append(self._chunk(lines))
        most = max(1, self.tail // 2)  # chunks this big are not merged any more
        while (len(chunks) >= 2 and len(chunks[-2].lines) <= len(chunks[-1].lines)
               and len(chunks[-2].lines) + len(chunks[-1].lines) <= most):
            newer, older = chunks.pop(), chunks.pop()
            chunks.append(self._chunk(older.lines + newer.lines))
            older.widget.close()
            newer.widget.close()
        while len(chunks) > 1 and sum(len(c.lines) for c in chunks[1:]) >= self.tail:
            chunks.pop(0).widget.close()

    def _update_notice(self) -> None:
        hidden = self.total - self.shown
        if hidden == self._hidden_shown:
            return
        self._hidden_shown = hidden
        if hidden > 0:
            self.notice.value = self._notice_html(hidden, self.total)
            self.notice.layout.display = None
        else:
            self.notice.layout.display = "none"

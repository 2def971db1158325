"""Progress bars through a line-based log: carriage-return updates become "replace" lines.

tqdm, keras and pip redraw one line with ``\\r``. The awslogs driver (and the emulator) ship
complete lines only, so such a bar would reach the kernel as one long line at its end. This
module wraps the cell's ``sys.stdout``/``sys.stderr``: ordinary text passes through untouched;
a line redrawn with ``\\r`` is written as complete lines instead, the first state as a plain line
and each later state as a line that *starts* with ``\\r`` — which batchmagic's viewer reads as
"replace the previous line". At most one state per ``interval`` (0.25 s: 4 a second) per stream
is written; the latest state always is (by a small ticker thread), and so is the final one.

:class:`OutputScanner` wraps the same stream to collect the ``::{"outputs": …}::`` lines the
cell prints (Kestra's protocol).

Standard library only, Python 3.8+: shipped into the job's main container next to bootstrap.py.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

INTERVAL = 0.25
_TOKENS = re.compile(r"(\r\n|\r|\n)")


class _Shared:
    """What the wrapped streams share: one lock, and which stream wrote the last line."""

    def __init__(self, interval: float, clock: Callable[[], float]) -> None:
        self.lock = threading.RLock()
        self.interval = interval
        self.clock = clock
        self.last_writer: ShapedStream | None = None
        self.streams: list[ShapedStream] = []
        self.ticker: threading.Thread | None = None
        self.closed = threading.Event()

    def start_ticker(self) -> None:
        if self.ticker is None:
            self.ticker = threading.Thread(target=self._tick, name="progress-lines", daemon=True)
            self.ticker.start()

    def _tick(self) -> None:
        while not self.closed.wait(self.interval / 2):
            with self.lock:
                for stream in self.streams:
                    stream.emit_due()


class ShapedStream:
    """A text stream whose ``\\r`` redraws are written as lines (see the module docstring)."""

    def __init__(self, stream: Any, shared: _Shared) -> None:
        self.stream = stream
        self._shared = shared
        self._raw_open = False  # text without its newline was passed through
        self._in_place = False  # the current line was redrawn with \r
        self._shown = False  # a line for the current in-place line was written downstream
        self._segment = ""  # text since the last \r
        self._state = ""  # the line's latest non-empty state
        self._pending = False  # _state changed since it was last written
        self._last_emit = float("-inf")
        shared.streams.append(self)

    def write(self, text: str) -> int:
        with self._shared.lock:
            if not self._in_place and "\r" not in text:
                if text:
                    self.stream.write(text)
                    self._shared.last_writer = self
                    self._raw_open = not text.endswith("\n")
                return len(text)
            for token in _TOKENS.split(text):
                if token in ("\n", "\r\n"):
                    self._end_line()
                elif token == "\r":
                    self._carriage_return()
                elif token:
                    self._text(token)
            if self._in_place and self._pending:
                self.emit_due()
        return len(text)

    def _text(self, token: str) -> None:
        if self._in_place:
            self._segment += token
            self._state = self._segment
            self._pending = True
        else:
            self.stream.write(token)
            self._shared.last_writer = self
            self._raw_open = True

    def _carriage_return(self) -> None:
        if not self._in_place:
            self._in_place = True
            self._shared.start_ticker()
            if self._raw_open:
                # What was written so far is the line a terminal would now redraw.
                self.stream.write("\n")
                self._raw_open = False
                self._shown = self._shared.last_writer is self
        self._segment = ""

    def _end_line(self) -> None:
        if self._in_place:
            final = self._segment or self._state
            if self._pending or not self._shown or self._shared.last_writer is not self:
                self._write_line(final)
            self._in_place = self._shown = self._pending = False
            self._segment = self._state = ""
        else:
            self.stream.write("\n")
            self._shared.last_writer = self
            self._raw_open = False

    def emit_due(self) -> None:
        """Write the latest state if one is waiting and the interval has passed."""
        if not (self._in_place and self._pending):
            return
        now = self._shared.clock()
        if now - self._last_emit >= self._shared.interval:
            self._last_emit = now
            self._pending = False
            self._write_line(self._state)
            self._shown = True
            self.stream.flush()

    def _write_line(self, text: str) -> None:
        # Replace only what this stream wrote last: after another stream's line, start anew.
        replace = self._shown and self._shared.last_writer is self
        self.stream.write(("\r" if replace else "") + text + "\n")
        self._shared.last_writer = self

    def finish(self) -> None:
        """Write an unfinished line's last state (the cell ended in the middle of a bar)."""
        with self._shared.lock:
            if self._in_place:
                self._end_line()
            self.stream.flush()

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class Shaping:
    """The cell's wrapped ``sys.stdout``/``sys.stderr``; :meth:`close` puts the real ones back."""

    def __init__(self, interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic,
                 ) -> None:
        self._shared = _Shared(interval, clock)
        self._real = (sys.stdout, sys.stderr)
        self.stdout = ShapedStream(sys.stdout, self._shared)
        self.stderr = ShapedStream(sys.stderr, self._shared)
        sys.stdout, sys.stderr = self.stdout, self.stderr

    def close(self) -> None:
        self._shared.closed.set()
        for stream in (self.stdout, self.stderr):
            stream.finish()
        if sys.stdout is self.stdout:
            sys.stdout = self._real[0]
        if sys.stderr is self.stderr:
            sys.stderr = self._real[1]


class OutputScanner:
    """Wraps ``sys.stdout``: passes everything through and collects ``::{"outputs": …}::`` lines.

    This catches outputs sent by the real ``kestra`` package or printed by hand, not only by the
    stand-in. Whatever it does not define (``buffer``, ``fileno``, ``encoding``…) comes from the
    wrapped stream.
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._partial = ""
        self.outputs: dict[str, Any] = {}

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        self._partial += text
        if "\n" in self._partial:
            *lines, self._partial = self._partial.split("\n")
            for line in lines:
                self._scan(line)
        return written if isinstance(written, int) else len(text)

    def _scan(self, line: str) -> None:
        line = line.strip()
        if not (line.startswith("::{") and line.endswith("}::")):
            return
        try:
            message = json.loads(line[2:-2])
        except ValueError:
            return
        if isinstance(message, dict) and isinstance(message.get("outputs"), dict):
            self.outputs.update(message["outputs"])

    def flush(self) -> None:
        self.stream.flush()

    def finish(self) -> None:
        if self._partial:
            self._scan(self._partial)
            self._partial = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def collected_outputs(scanner: OutputScanner) -> dict[str, Any]:
    """What the cell sent as outputs: the scanned lines, and the kestra stand-in's calls."""
    outputs = dict(scanner.outputs)
    standin = sys.modules.get("kestra")
    collected = getattr(standin, "_collected", None)
    if getattr(standin, "BATCHMAGIC_STANDIN", False) and isinstance(collected, dict):
        outputs.update(collected)
    return outputs

"""What a run needs from whoever shows it: the small interface the notebook layer implements.

The run layer never imports the notebook layer; ``batchmagic.notebook.display`` provides the
text and widget displays that satisfy :class:`RunDisplay`.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Protocol

from batchmagic.aws.progress import TransferProgress

if TYPE_CHECKING:
    from batchmagic.run.handle import Run
    from batchmagic.run.maprun import MapRun


class RunDisplay(Protocol):
    """Receives a run's events, from the run's background thread as well as from the cell's."""

    def attach(self, run: Run) -> None: ...
    def status(self, run: Run) -> None: ...
    def lines(self, container: str, lines: list[str], stream: str = "stdout") -> None: ...
    def note(self, text: str) -> None: ...
    def staging(self, progress: TransferProgress) -> None:
        """An upload (before ``attach``) or a download (after the job) that lasts more than
        about a second: at most a few calls a second, the last one ``finished``."""
    def finished(self, run: Run) -> None: ...
    def flush(self) -> None: ...
    def show_again(self, run: Run) -> None: ...


def wait_flushing(done: threading.Event, display: RunDisplay, timeout: float | None) -> bool:
    """Block until ``done`` while flushing queued text; short waits keep Ctrl-C prompt."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while not done.wait(0.1):
        display.flush()
        if deadline is not None and time.monotonic() > deadline:
            display.flush()
            return False
    display.flush()
    return True


class MapDisplay(Protocol):
    """Receives a map run's events (the notebook layer implements it)."""

    def attach(self, run: MapRun) -> None: ...
    def progress(self, run: MapRun) -> None: ...
    def note(self, text: str) -> None: ...
    def finished(self, run: MapRun) -> None: ...
    def flush(self) -> None: ...

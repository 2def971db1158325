"""Progress of a staging transfer (bytes, files, rate, ETA), from s3transfer's subscribers.

s3transfer calls a subscriber's ``on_progress`` from its worker threads each time a chunk of a
file has gone out or come in (every ``io_chunksize`` bytes, and per multipart part), and
``on_done`` once per file: the bytes are counted as they move, never by polling file sizes.

Two pieces: :class:`ProgressSubscriber` turns those callbacks into a stream of
:class:`TransferProgress` snapshots (one per change, in order); :class:`ProgressMeter` decides
which of them a person sees, the way tqdm does (``delay``, ``mininterval``): nothing for a
transfer that is over within ``delay`` seconds, then at most one update per ``interval``, and
always the final state once the bar is shown.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from s3transfer.subscribers import BaseSubscriber

Clock = Callable[[], float]

# A staging shorter than this shows no bar at all, only its duration in the run's timeline.
PROGRESS_DELAY = 1.0
# The widget and the terminal line are updated at most this often (seconds).
PROGRESS_INTERVAL = 0.25
# Weight of the latest interval in the smoothed rate (tqdm's ``smoothing``): the first seconds of
# a transfer (connections, multipart set-up) would otherwise spoil the ETA for its whole length.
SMOOTHING = 0.3


@dataclass(frozen=True)
class TransferProgress:
    """One moment of an upload or a download."""

    direction: str  # "upload" or "download"
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    elapsed: float
    finished: bool = False  # the transfer is over (whether or not every file made it)
    # Recent bytes per second (smoothed between the updates a person saw); None at first.
    speed: float | None = None

    @property
    def fraction(self) -> float:
        """0..1, by bytes (by files when there are no bytes to move)."""
        if self.bytes_total:
            return min(1.0, self.bytes_done / self.bytes_total)
        return self.files_done / self.files_total if self.files_total else 1.0

    @property
    def rate(self) -> float:
        """Bytes per second: recent while the transfer goes on, the average once it is over."""
        if self.speed is not None and not self.finished:
            return self.speed
        return self.bytes_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the recent rate; None until there is one."""
        if self.speed is None or self.speed <= 0:
            return None
        return max(0.0, (self.bytes_total - self.bytes_done) / self.speed)

    @property
    def complete(self) -> bool:
        return self.bytes_done >= self.bytes_total and self.files_done >= self.files_total


ProgressCallback = Callable[[TransferProgress], None]


class ProgressSubscriber(BaseSubscriber):  # type: ignore[misc]
    """Adds up bytes and finished files from every transfer of one upload or download.

    One instance is passed to every ``TransferManager.upload``/``download`` of the staging call;
    ``report`` receives a snapshot after each change, in order (it runs under a lock, from the
    transfer threads: it must be quick).
    """

    def __init__(self, direction: str, bytes_total: int, files_total: int,
                 report: ProgressCallback | None, *, clock: Clock = time.monotonic) -> None:
        self._direction = direction
        self._bytes_total = bytes_total
        self._files_total = files_total
        self._report = report
        self._clock = clock
        self._start = clock()
        self._bytes = 0
        self._files = 0
        self._lock = threading.Lock()

    def snapshot(self, *, finished: bool = False) -> TransferProgress:
        return TransferProgress(self._direction, self._bytes, self._bytes_total, self._files,
                                self._files_total, self._clock() - self._start, finished)

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        # s3transfer reports negative amounts when it retries a part (the bytes are sent again).
        self._changed(bytes_transferred, 0)

    def on_done(self, future: Any, **kwargs: Any) -> None:
        self._changed(0, 1)

    def _changed(self, sent: int, files: int) -> None:
        if self._report is None:
            return
        with self._lock:
            self._bytes += sent
            self._files += files
            self._report(self.snapshot())


class ProgressMeter:
    """What a person sees of a transfer: the ``sink`` gets snapshots once the transfer has run
    for ``delay`` seconds, at most one per ``interval``, and the final one (``finished``) from
    :meth:`close` when anything was shown. Snapshots whose bytes went backwards (a retried part)
    are held back, so what is shown never moves backwards."""

    def __init__(self, sink: ProgressCallback, *, delay: float | None = None,
                 interval: float = PROGRESS_INTERVAL, clock: Clock = time.monotonic) -> None:
        self._sink = sink
        self._delay = PROGRESS_DELAY if delay is None else delay
        self._interval = interval
        self._clock = clock
        self._start = clock()
        self._last_shown: float | None = None
        self._latest: TransferProgress | None = None
        self._shown: TransferProgress | None = None
        self._lock = threading.Lock()

    @property
    def shown(self) -> bool:
        """True once the bar has appeared."""
        return self._shown is not None

    def __call__(self, progress: TransferProgress) -> None:
        with self._lock:
            self._latest = progress
            now = self._clock()
            if now - self._start < self._delay:
                return
            if self._last_shown is not None and now - self._last_shown < self._interval:
                return
            shown = self._shown
            if shown is not None and progress.bytes_done < shown.bytes_done:
                return
            if shown is not None and progress.elapsed > shown.elapsed:
                latest = (progress.bytes_done - shown.bytes_done) / (
                    progress.elapsed - shown.elapsed)
                previous = latest if shown.speed is None else shown.speed
                progress = dataclasses.replace(
                    progress, speed=SMOOTHING * latest + (1 - SMOOTHING) * previous)
            self._last_shown = now
            self._shown = progress
        self._sink(progress)

    def close(self) -> None:
        """The transfer is over: show its final state, if the bar was shown at all."""
        with self._lock:
            if self._shown is None or self._latest is None:
                return
            final = dataclasses.replace(self._latest, finished=True)
            self._shown = final
        self._sink(final)

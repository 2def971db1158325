"""One log stream's events, from several sources, delivered exactly once and in stream order.

Sources: live tail sessions (pushed events, contiguous only from the moment the session opened),
reads with ``nextForwardToken`` (contiguous from the head), polls. They overlap and answer in
any order; :class:`StreamMerge` turns them into the stream, each event once.
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable

from batchmagic.aws.logs import LogLine

OnStreamLines = Callable[[str, list[LogLine]], None]
_Key = tuple[int, str]


class _Source:
    """What the merge knows of one source on one stream."""

    def __init__(self, *, from_head: bool, cursor: int, started_at: float) -> None:
        self.anchored = from_head
        self.cursor = cursor
        self.started_at = started_at
        self.waiting: list[LogLine] = []


def _key(event: LogLine) -> _Key:
    return (event.timestamp_ms, event.message)


class StreamMerge:
    """Delivers each log event of a stream exactly once and in stream order, whichever source
    (live session, head read, catch-up read, poll) saw it first and whatever order they answer in.

    What is delivered is always a prefix of the stream. Reads from the head are contiguous from
    the start, so they extend the prefix directly. A live session is contiguous only from the
    moment it started: its events wait until the session is *anchored* to the prefix, either
    because one of them is already in it (the session overlaps what was read), or because a
    read that was sent after the session started reached the end of the stream (everything
    before the session is then in the prefix). Anchored, every source moves along the prefix
    with a cursor: an event found at or after its cursor is a repeat, anything else extends the
    prefix. Events are compared by timestamp and message, and located by position, so lines
    that really repeat are kept. Delivery happens under the merge's lock, so concurrent
    sources cannot swap the order of their batches.
    """

    def __init__(self, deliver: OnStreamLines, *, clock: Callable[[], float] = time.monotonic,
                 ) -> None:
        self._deliver = deliver
        self._clock = clock
        self._known: dict[str, list[_Key]] = defaultdict(list)
        self._sources: dict[tuple[object, str], _Source] = {}
        self._lock = threading.RLock()

    def start_source(self, source: object, stream: str, *, from_head: bool) -> None:
        """A source that reads the stream from its head, or (a live session) only from now on."""
        with self._lock:
            self._sources[(source, stream)] = _Source(
                from_head=from_head, cursor=0 if from_head else len(self._known[stream]),
                started_at=math.inf)

    def start_source_at(self, source: object, stream: str, timestamp_ms: int) -> bool:
        """A source that reads the stream from its first event stamped at or after
        ``timestamp_ms`` (FilterLogEvents ``startTime``), placed where that event is in what
        was delivered. False (and no source) when what was delivered is not in timestamp
        order: there is then no such place."""
        with self._lock:
            stamps = [stamp for stamp, _ in self._known[stream]]
            if any(b < a for a, b in itertools.pairwise(stamps)):
                return False
            self._sources[(source, stream)] = _Source(
                from_head=True, cursor=bisect.bisect_left(stamps, timestamp_ms),
                started_at=math.inf)
            return True

    def last_timestamp(self, stream: str) -> int | None:
        """The timestamp of the last event delivered on ``stream`` (None: nothing yet)."""
        with self._lock:
            known = self._known.get(stream)
            return known[-1][0] if known else None

    def started(self, source: object) -> None:
        """The live source now sees every event ingested from here on (its session is open).
        Its cursor was taken in :meth:`start_source`, before: both bounds stay on the safe side."""
        with self._lock:
            now = self._clock()
            for (owner, _), state in self._sources.items():
                if owner is source:
                    state.started_at = min(state.started_at, now)

    def anchored(self, stream: str) -> bool:
        """Whether every live source of the stream delivers straight away."""
        with self._lock:
            return all(state.anchored for (_, name), state in self._sources.items()
                       if name == stream)

    def add(self, source: object, stream: str, events: list[LogLine]) -> None:
        with self._lock:
            state = self._sources.get((source, stream))
            if state is None:
                state = self._sources[(source, stream)] = _Source(
                    from_head=False, cursor=len(self._known[stream]), started_at=math.inf)
            if not state.anchored:
                state.waiting.extend(events)
                self._anchor_by_overlap(state, stream)
                return
            self._advance(state, stream, events)

    def reached_end(self, stream: str, requested_at: float) -> None:
        """A read of ``stream`` sent at ``requested_at`` found its end: live sources started
        before it have nothing missing before their first event."""
        with self._lock:
            for (_, name), state in list(self._sources.items()):
                if name == stream and not state.anchored and state.started_at <= requested_at:
                    self._release(state, stream)

    def forget(self, source: object) -> None:
        """A source that ended (a closed session): its waiting events are left to the reads."""
        with self._lock:
            for key in [k for k in self._sources if k[0] is source]:
                del self._sources[key]

    def _anchor_by_overlap(self, state: _Source, stream: str) -> None:
        known = self._known[stream]
        for i, event in enumerate(state.waiting):
            key = _key(event)
            if key in known[state.cursor:]:
                # Events before it in the session were delivered before it too.
                state.cursor = len(known) - 1 - known[::-1].index(key)
                rest = state.waiting[i:]
                state.waiting = []
                state.anchored = True
                self._advance(state, stream, rest)
                return

    def _release(self, state: _Source, stream: str) -> None:
        waiting, state.waiting = state.waiting, []
        state.anchored = True
        self._advance(state, stream, waiting)

    def _advance(self, state: _Source, stream: str, events: list[LogLine]) -> None:
        known = self._known[stream]
        fresh: list[LogLine] = []
        for event in events:
            key = _key(event)
            try:
                state.cursor = known.index(key, state.cursor) + 1
            except ValueError:
                known.append(key)
                state.cursor = len(known)
                fresh.append(event)
        if fresh:
            self._deliver(stream, fresh)

"""Following CloudWatch Logs streams: one shared, rate-limited poller thread for every tail.

GetLogEvents has an account-wide quota (single-digit to low tens of requests per second, shared by
every user of the account), so all the streams of all the jobs of a kernel are read by one thread
that paces its requests with a token bucket. Each stream is polled adaptively: quickly right after
lines arrived, backing off while it is idle. Tails may also share a *budget* (e.g. one per job) that
caps their steady request rate per minute while allowing a burst at the start.

AWS semantics this module relies on:

- ``get_log_events(startFromHead=True)`` without a token reads from the first event; with
  ``nextToken=<previous nextForwardToken>`` it reads what came after.
- At the end of the stream AWS returns the *same* ``nextForwardToken`` that was passed in: that,
  and not an empty page, means "nothing new". A page can be empty with a *new* token (AWS scans
  the stream in time slices), so an empty page with a changed token means "keep reading".
- A stream that does not exist yet is normal: the container has not started. That is a
  ``ResourceNotFoundException``; the tail keeps waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from batchmagic.aws.backoff import Backoff
from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.aws.errors import aws_errors
from batchmagic.aws.ratelimit import Clock, TokenBucket
from batchmagic.errors import AwsError

log = logging.getLogger(__name__)

DEFAULT_RATE = 8.0
"""GetLogEvents requests per second for the whole process (the account's quota is 10-25/s)."""

DEFAULT_BUDGET_PER_MINUTE = 8.0
"""Steady GetLogEvents requests per minute for the tails of one budget (one job)."""

DEFAULT_BUDGET_BURST = 30.0
"""Requests a budget may spend at once, e.g. while a short job's lines are flowing."""


@dataclass(frozen=True)
class LogLine:
    """One log event: when it was produced (epoch milliseconds) and its text."""

    timestamp_ms: int
    message: str


OnLines = Callable[[list[LogLine]], None]


POLL_BACKOFF = Backoff(first=0.2, most=2.0, factor=1.5)
"""How often one stream is polled: every 0.2 s after lines, slowing to every 2 s while idle."""

MISSING_GRACE = 3.0
"""While draining, how long a stream that never appeared is waited for (seconds)."""


class Tail:
    """One followed stream, made by :meth:`LogPoller.tail`; callbacks run on the poller thread."""

    def __init__(self, poller: LogPoller, log_group: str, log_stream: str, on_lines: OnLines,
                 budget: TokenBucket | None) -> None:
        self.log_group = log_group
        self.log_stream = log_stream
        self.lines = 0
        """How many lines were delivered so far."""
        self.found = False
        """Whether the stream was seen to exist."""
        self.last_error: AwsError | None = None
        self._poller = poller
        self._on_lines = on_lines
        self._budget = budget
        self._token: str | None = None
        self._interval = poller.pacing.first
        self._due = 0.0
        self._draining_since: float | None = None
        self._drained = False
        self._finished = threading.Event()
        self._deliver_lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Tail({self.log_group}:{self.log_stream}, lines={self.lines})"

    @property
    def done(self) -> bool:
        """True once drained or stopped: no more callbacks will come."""
        return self._finished.is_set()

    def stop(self) -> None:
        """Stop following now; once this returns, ``on_lines`` is not called again."""
        with self._deliver_lock:
            self._poller._remove(self)
            self._finished.set()

    def request_drain(self) -> None:
        """Read what is left, then finish (see :meth:`drain`); returns at once."""
        self._poller._drain(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the tail finished; True if it was drained to the end of its stream."""
        deadline = None if timeout is None else time.monotonic() + timeout
        # Short waits keep a KeyboardInterrupt in the main thread prompt.
        while not self._finished.wait(0.1):
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return self._drained

    def drain(self, timeout: float = 10.0) -> bool:
        """Read until the stream has nothing new (the same ``nextForwardToken`` comes back), then
        stop. Returns False, after stopping the tail, if that takes longer than ``timeout``."""
        self.request_drain()
        drained = self.wait(timeout)
        if not drained:
            self.stop()
        return drained

    def _deliver(self, lines: list[LogLine]) -> None:
        with self._deliver_lock:
            if self._finished.is_set():
                return
            self.lines += len(lines)
            try:
                self._on_lines(lines)
            except Exception:  # a broken callback must not stop every other tail
                log.exception("log callback for %s failed", self.log_stream)

    def _finish(self, *, drained: bool) -> None:
        with self._deliver_lock:
            self._drained = drained
            self._finished.set()


class LogPoller:
    """Reads every :class:`Tail` from one background thread, at most ``rate`` requests/second.

    The thread starts with the first tail and ends when no tail is left. ``budget_per_minute`` and
    ``budget_burst`` size the per-budget buckets of :meth:`tail` (draining ignores budgets).
    """

    _registry: ClassVar[dict[AwsTarget, LogPoller]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, clients: AwsClients, *, rate: float = DEFAULT_RATE,
                 burst: float = DEFAULT_RATE, pacing: Backoff = POLL_BACKOFF,
                 missing_grace: float = MISSING_GRACE,
                 budget_per_minute: float = DEFAULT_BUDGET_PER_MINUTE,
                 budget_burst: float = DEFAULT_BUDGET_BURST,
                 clock: Clock = time.monotonic) -> None:
        self.clients = clients
        self.pacing = pacing
        self.missing_grace = missing_grace
        self.requests = 0
        """GetLogEvents calls made so far."""
        self._clock = clock
        self._bucket = TokenBucket(rate, burst, clock=clock)
        self._budget_rate = budget_per_minute / 60.0
        self._budget_burst = budget_burst
        self._budgets: dict[str, TokenBucket] = {}
        self._tails: list[Tail] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    @classmethod
    def shared(cls, clients: AwsClients) -> LogPoller:
        """The one poller of ``clients``' target in this process (created on first use)."""
        with cls._registry_lock:
            poller = cls._registry.get(clients.target)
            if poller is None or poller._closed:
                poller = cls._registry[clients.target] = cls(clients)
            return poller

    def tail(self, log_group: str, log_stream: str, on_lines: OnLines, *,
             budget: str | None = None) -> Tail:
        """Follow a stream from its first event; ``on_lines`` gets each new batch of lines.

        Tails with the same ``budget`` key share one request budget (e.g. one job's streams).
        """
        with self._cond:
            if self._closed:
                raise RuntimeError("this LogPoller is closed")
            bucket = None
            if budget is not None:
                bucket = self._budgets.get(budget)
                if bucket is None:
                    bucket = self._budgets[budget] = TokenBucket(
                        self._budget_rate, self._budget_burst, clock=self._clock)
            tail = Tail(self, log_group, log_stream, on_lines, bucket)
            tail._due = self._clock()
            self._tails.append(tail)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="batchmagic-logs",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()
            return tail

    def close(self) -> None:
        """Stop every tail and the thread."""
        with self._cond:
            self._closed = True
            tails, self._tails = self._tails, []
            self._cond.notify_all()
        for tail in tails:
            tail.stop()

    # --- internals (called with or from the poller thread) ---------------------------------

    def _remove(self, tail: Tail) -> None:
        with self._cond:
            if tail in self._tails:
                self._tails.remove(tail)
            self._cond.notify_all()

    def _drain(self, tail: Tail) -> None:
        with self._cond:
            if tail._draining_since is None:
                tail._draining_since = self._clock()
            tail._due = self._clock()
            self._cond.notify_all()

    def _ready_at(self, tail: Tail, now: float) -> float:
        if tail._draining_since is not None or tail._budget is None:
            return tail._due
        return max(tail._due, now + tail._budget.delay())

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._closed or not self._tails:
                    self._thread = None
                    return
                now = self._clock()
                tail = min(self._tails, key=lambda t: self._ready_at(t, now))
                wait = self._ready_at(tail, now) - now
                if wait <= 0:
                    wait = self._bucket.try_take()
                if wait > 0:
                    self._cond.wait(min(wait, 1.0))
                    continue
                draining = tail._draining_since is not None
                if not draining and tail._budget is not None:
                    tail._budget.take()
            self._poll(tail, draining)

    def _poll(self, tail: Tail, draining: bool) -> None:
        request: dict[str, Any] = {"logGroupName": tail.log_group,
                                   "logStreamName": tail.log_stream, "startFromHead": True}
        if tail._token is not None:
            request["nextToken"] = tail._token
        self.requests += 1
        try:
            with aws_errors(f"GetLogEvents {tail.log_group}:{tail.log_stream}"):
                response = self.clients.logs.get_log_events(**request)
        except AwsError as error:
            self._failed(tail, error, draining)
            return
        tail.found = True
        tail.last_error = None
        events = response.get("events", [])
        token = response.get("nextForwardToken")
        at_end = token == tail._token and not events
        if events:
            tail._deliver([LogLine(int(e.get("timestamp", 0)), str(e.get("message", "")))
                           for e in events])
        tail._token = token
        if at_end and draining:
            self._retire(tail, drained=True)
            return
        self._reschedule(tail, progressed=not at_end, draining=draining)

    def _failed(self, tail: Tail, error: AwsError, draining: bool) -> None:
        # Failed calls are not raised: the poller tries again at its own pace (botocore has
        # already retried each one), so a throttled or briefly unreachable stream loses nothing.
        if error.code == "ResourceNotFoundException":
            # Not created yet (the container has not started) - or gone. While draining, a
            # stream that was seen before, or that never showed up within the grace, is done.
            since = tail._draining_since
            if draining and since is not None and (
                tail.found or self._clock() - since >= self.missing_grace
            ):
                self._retire(tail, drained=True)
                return
        elif error.throttled:
            self._bucket.pause(1.0)
        else:
            tail.last_error = error
            log.debug("%s", tail.last_error)
        self._reschedule(tail, progressed=False, draining=draining)

    def _reschedule(self, tail: Tail, *, progressed: bool, draining: bool) -> None:
        """Set the next poll. ``draining``: whether the request just made was a draining one."""
        with self._cond:
            tail._interval = self.pacing.after(tail._interval, progressed=progressed)
            # While draining, read on at once while there is more; a drain requested while a
            # request was in flight needs one more request made after it.
            drain_now = tail._draining_since is not None and (progressed or not draining)
            tail._due = self._clock() + (0.0 if drain_now else tail._interval)

    def _retire(self, tail: Tail, *, drained: bool) -> None:
        self._remove(tail)
        tail._finish(drained=drained)


def drain_tails(tails: list[Tail], timeout: float) -> bool:
    """Drain tails in parallel; True if every one reached the end of its stream in time."""
    for tail in tails:
        tail.request_drain()
    deadline = time.monotonic() + timeout
    return all([tail.wait(max(0.0, deadline - time.monotonic())) for tail in tails])

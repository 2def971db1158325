"""How often to ask AWS again: one exponential backoff for every polling loop.

Like botocore's ``ExponentialBackoff`` (``botocore/retries/standard.py``) without the jitter:
the loops here poll one resource each (a job's status, a log stream, a queue becoming VALID),
they do not retry a failed request together with many clients. Intervals start at ``first``,
grow by ``factor`` while nothing changes, never exceed ``most``, and come back to ``first`` when
something did change (a job's status, new log lines).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Intervals from ``first`` seconds, times ``factor`` while idle, at most ``most``."""

    first: float
    most: float
    factor: float = 1.5

    def after(self, interval: float, *, progressed: bool = False) -> float:
        """The interval that follows ``interval``: ``first`` again after progress."""
        if progressed:
            return self.first
        return min(self.most, max(self.first, interval * self.factor))

    def attempts(self, timeout: float) -> Iterator[None]:
        """Yields at once, then after each interval, until ``timeout`` seconds have passed: the
        loop body asks, and returns once it is done; after the loop, the time is up."""
        deadline = time.monotonic() + timeout
        interval = self.first
        while True:
            yield
            if time.monotonic() >= deadline:
                return
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
            interval = self.after(interval)


@dataclass(frozen=True)
class AgePacing:
    """Intervals that grow with the age of what is watched: the next ask comes ``fraction`` of
    the time since ``since`` later, never sooner than ``first`` nor later than ``most``.

    A job that ends within a second is seen within a tenth of a second, one that has run for a
    minute within 15 s, and a change does not bring back the fast pace (a job changes several
    times as it starts: a backoff that restarts at each change pays its burst each time). Over
    T seconds this asks about ``log(T / first) / log(1 + fraction)`` times, whatever happened.
    """

    first: float
    most: float
    fraction: float = 0.5

    def interval(self, age: float) -> float:
        """How long to wait before the next ask, ``age`` seconds after the start."""
        return min(self.most, max(self.first, age * self.fraction))


Pacing = Backoff | AgePacing
"""A polling loop's pace: by what changed (:class:`Backoff`) or by age (:class:`AgePacing`)."""

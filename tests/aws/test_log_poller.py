"""The shared log poller against CloudWatch Logs on the emulator, and its pacing (fake clock)."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from batchmagic.aws.backoff import Backoff
from batchmagic.aws.clients import AwsClients
from batchmagic.aws.logs import LogLine, LogPoller
from batchmagic.aws.ratelimit import TokenBucket

GROUP = "/batchmagic/test"


@pytest.fixture()
def group(clients: AwsClients) -> str:
    with contextlib.suppress(clients.logs.exceptions.ResourceAlreadyExistsException):
        clients.logs.create_log_group(logGroupName=GROUP)
    return GROUP


@pytest.fixture()
def poller(clients: AwsClients) -> Iterator[LogPoller]:
    poller = LogPoller(clients, rate=50, burst=10, pacing=Backoff(first=0.05, most=0.4))
    yield poller
    poller.close()


def _stream(clients: AwsClients, group: str, create: bool = True) -> str:
    name = f"s-{uuid.uuid4().hex[:10]}"
    if create:
        clients.logs.create_log_stream(logGroupName=group, logStreamName=name)
    return name


def _put(clients: AwsClients, group: str, stream: str, *messages: str) -> None:
    now = int(time.time() * 1000)
    clients.logs.put_log_events(logGroupName=group, logStreamName=stream,
                                logEvents=[{"timestamp": now, "message": m} for m in messages])


class Collector:
    def __init__(self) -> None:
        self.lines: list[LogLine] = []
        self.calls = 0
        self._cond = threading.Condition()

    def __call__(self, lines: list[LogLine]) -> None:
        with self._cond:
            self.calls += 1
            self.lines.extend(lines)
            self._cond.notify_all()

    @property
    def messages(self) -> list[str]:
        return [line.message for line in self.lines]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[str]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.lines) >= count, timeout)
        return self.messages


def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_tail_follows_lines_as_they_are_appended(clients: AwsClients, group: str,
                                                 poller: LogPoller) -> None:
    stream = _stream(clients, group)
    _put(clients, group, stream, "one", "two")
    got = Collector()
    tail = poller.tail(group, stream, got)
    assert got.wait_for(2) == ["one", "two"]
    _put(clients, group, stream, "three")
    assert got.wait_for(3) == ["one", "two", "three"]
    assert all(line.timestamp_ms > 1_600_000_000_000 for line in got.lines)
    _put(clients, group, stream, "four")
    assert tail.drain(timeout=5)
    assert got.messages == ["one", "two", "three", "four"]
    assert tail.done and tail.lines == 4


def test_stream_created_later_is_waited_for(clients: AwsClients, group: str,
                                            poller: LogPoller) -> None:
    stream = _stream(clients, group, create=False)
    got = Collector()
    tail = poller.tail(group, stream, got)
    assert _until(lambda: poller.requests >= 3)  # ResourceNotFoundException: keeps waiting
    assert not tail.found and not tail.done
    clients.logs.create_log_stream(logGroupName=group, logStreamName=stream)
    _put(clients, group, stream, "late")
    assert got.wait_for(1) == ["late"]
    assert tail.found
    assert tail.drain(timeout=5)


def test_drain_of_a_stream_that_never_appears_ends_after_the_grace(
    clients: AwsClients, group: str
) -> None:
    poller = LogPoller(clients, pacing=Backoff(first=0.05, most=0.2),
                        missing_grace=0.3)
    try:
        tail = poller.tail(group, _stream(clients, group, create=False), Collector())
        started = time.monotonic()
        assert tail.drain(timeout=5)
        assert time.monotonic() - started < 2
    finally:
        poller.close()


def test_idle_stream_backs_off(clients: AwsClients, group: str) -> None:
    pacing = Backoff(first=0.05, most=0.5, factor=2.0)
    poller = LogPoller(clients, rate=100, burst=10, pacing=pacing)
    try:
        stream = _stream(clients, group)
        _put(clients, group, stream, "x")
        got = Collector()
        tail = poller.tail(group, stream, got)
        got.wait_for(1)
        time.sleep(1.5)
        before = poller.requests
        time.sleep(1.0)
        idle_rate = poller.requests - before
        # Backed off to one request per 0.5 s (at 0.05 s it would be ~20 requests).
        assert 1 <= idle_rate <= 3
        _put(clients, group, stream, "y")
        started = time.monotonic()
        assert got.wait_for(2) == ["x", "y"]
        assert time.monotonic() - started < 1.0
        assert tail.drain(timeout=5)
    finally:
        poller.close()


def test_global_rate_limit_caps_requests(clients: AwsClients, group: str) -> None:
    poller = LogPoller(clients, rate=5, burst=2, pacing=Backoff(first=0.01, most=0.01))
    try:
        tails = [poller.tail(group, _stream(clients, group), Collector()) for _ in range(6)]
        time.sleep(0.3)
        before, started = poller.requests, time.monotonic()
        time.sleep(1.5)
        made = poller.requests - before
        elapsed = time.monotonic() - started
        # Six tails want ~600 requests/s; the bucket allows 5/s (+ one in flight).
        assert made <= 5 * elapsed + 2
        assert made >= 4
        for tail in tails:
            tail.stop()
        assert all(t.done for t in tails)
    finally:
        poller.close()


def test_stopped_tail_gets_no_more_lines(clients: AwsClients, group: str,
                                         poller: LogPoller) -> None:
    stream = _stream(clients, group)
    got = Collector()
    tail = poller.tail(group, stream, got)
    _put(clients, group, stream, "a")
    got.wait_for(1)
    tail.stop()
    _put(clients, group, stream, "b")
    time.sleep(0.3)
    assert got.messages == ["a"]
    assert not tail.wait(0.1)  # stopped, not drained


def test_broken_callback_does_not_stop_other_tails(clients: AwsClients, group: str,
                                                   poller: LogPoller) -> None:
    def broken(lines: list[LogLine]) -> None:
        raise ValueError("boom")

    bad, good = _stream(clients, group), _stream(clients, group)
    _put(clients, group, bad, "x")
    _put(clients, group, good, "y")
    poller.tail(group, bad, broken)
    got = Collector()
    poller.tail(group, good, got)
    assert got.wait_for(1) == ["y"]


def test_poller_thread_ends_with_its_last_tail(clients: AwsClients, group: str) -> None:
    poller = LogPoller(clients)
    tail = poller.tail(group, _stream(clients, group), Collector())
    assert any(t.name == "batchmagic-logs" for t in threading.enumerate())
    tail.stop()
    assert _until(lambda: poller._thread is None, 3)


def test_shared_poller_is_one_per_target(clients: AwsClients) -> None:
    other = AwsClients(clients.target)
    assert LogPoller.shared(clients) is LogPoller.shared(other)


# --- pacing, with a fake clock ------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=4, burst=2, clock=clock)
    assert bucket.try_take() == 0 and bucket.try_take() == 0
    assert bucket.try_take() == pytest.approx(0.25)
    clock.now += 0.25
    assert bucket.try_take() == 0
    clock.now += 100
    assert [bucket.try_take() for _ in range(3)][:2] == [0, 0]  # refills to burst, no more
    bucket.pause(1.0)
    assert bucket.delay() == pytest.approx(1.0)


def test_pacing_backs_off_to_idle_and_snaps_back() -> None:
    pacing = Backoff(first=0.2, most=2.0, factor=1.5)
    interval, seen = pacing.first, []
    for _ in range(10):
        interval = pacing.after(interval, progressed=False)
        seen.append(interval)
    assert seen == sorted(seen) and seen[-1] == 2.0 and seen[0] == pytest.approx(0.3)
    assert pacing.after(2.0, progressed=True) == 0.2


def test_budget_caps_steady_rate_per_minute() -> None:
    clock = FakeClock()
    budget = TokenBucket(rate=8 / 60, burst=30, clock=clock)
    taken = 0
    for _ in range(600 * 10):  # ten minutes, asking every 0.1 s
        clock.now += 0.1
        if budget.try_take() == 0:
            taken += 1
    assert 30 + 80 - 1 <= taken <= 30 + 80 + 1

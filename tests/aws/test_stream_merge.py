"""StreamMerge: lines seen by overlapping sources are delivered once, in stream order, whatever
order the sources answer in."""

from __future__ import annotations

import random
from collections import deque
from typing import Any

import pytest

from batchmagic.aws.logs import LogLine
from batchmagic.aws.merge import StreamMerge


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _lines(*pairs: tuple[int, str]) -> list[LogLine]:
    return [LogLine(ts, text) for ts, text in pairs]


def _merge() -> tuple[StreamMerge, list[str], Clock]:
    delivered: list[str] = []
    clock = Clock()
    merge = StreamMerge(lambda _stream, lines: delivered.extend(x.message for x in lines),
                        clock=clock)
    return merge, delivered, clock


def test_a_head_read_and_a_session_overlap_without_repeats() -> None:
    merge, delivered, _ = _merge()
    session, head = object(), object()
    merge.start_source(session, "s", from_head=False)  # the session starts: sees what comes next
    merge.started(session)
    merge.start_source(head, "s", from_head=True)
    merge.add(head, "s", _lines((1, "a"), (2, "b"), (3, "c")))  # written before and after
    merge.add(session, "s", _lines((3, "c"), (4, "d")))  # only what came after it started
    assert delivered == ["a", "b", "c", "d"]


def test_session_lines_wait_for_the_head_read_that_answers_later() -> None:
    merge, delivered, clock = _merge()
    session, head = object(), object()
    merge.start_source(session, "s", from_head=False)
    merge.started(session)
    merge.start_source(head, "s", from_head=True)
    merge.add(session, "s", _lines((5, "e"), (6, "f")))  # pushed before the slow head read
    assert delivered == []
    requested = clock()
    merge.add(head, "s", _lines((1, "a"), (2, "b")))
    merge.reached_end("s", requested)  # a read sent after the session started found the end
    assert delivered == ["a", "b", "e", "f"]
    merge.add(session, "s", _lines((7, "g")))
    assert delivered == ["a", "b", "e", "f", "g"]


def test_an_end_seen_before_the_session_started_does_not_anchor_it() -> None:
    merge, delivered, clock = _merge()
    session, head = object(), object()
    merge.start_source(head, "s", from_head=True)
    early = clock()
    merge.start_source(session, "s", from_head=False)
    merge.started(session)
    merge.add(session, "s", _lines((5, "e")))
    merge.reached_end("s", early)
    assert delivered == []
    merge.add(head, "s", _lines((1, "a"), (5, "e")))
    assert delivered == ["a", "e"]


def test_identical_lines_are_kept_when_they_really_repeat() -> None:
    merge, delivered, _ = _merge()
    source = object()
    merge.start_source(source, "s", from_head=True)
    merge.add(source, "s", _lines((1, "same"), (1, "same")))
    assert delivered == ["same", "same"]


def test_two_sessions_overlapping_deliver_each_line_once() -> None:
    merge, delivered, clock = _merge()
    old, new, head = object(), object(), object()
    merge.start_source(head, "s", from_head=True)
    merge.start_source(old, "s", from_head=False)
    merge.started(old)
    merge.reached_end("s", clock())  # the empty stream was read after the session opened
    merge.add(old, "s", _lines((1, "x")))
    merge.start_source(new, "s", from_head=False)
    merge.started(new)
    merge.add(new, "s", _lines((2, "y"), (3, "z")))  # the new session answers first
    merge.add(old, "s", _lines((2, "y")))
    merge.forget(old)
    merge.add(head, "s", _lines((1, "x"), (2, "y"), (3, "z")))
    assert delivered == ["x", "y", "z"]


def test_a_final_read_from_the_head_puts_missed_lines_in_their_place() -> None:
    merge, delivered, _ = _merge()
    session, final = object(), object()
    merge.start_source(session, "s", from_head=False)
    merge.started(session)
    merge.add(session, "s", _lines((1, "a"), (3, "c")))  # (2, "b") never came live
    merge.start_source(final, "s", from_head=True)
    merge.add(final, "s", _lines((1, "a"), (2, "b"), (3, "c"), (4, "d")))
    assert delivered == ["a", "b", "c", "d"]


def test_a_read_from_a_timestamp_joins_what_was_delivered() -> None:
    merge, delivered, _ = _merge()
    head, end = object(), object()
    merge.start_source(head, "s", from_head=True)
    merge.add(head, "s", _lines((1, "a"), (2, "b"), (2, "c")))
    assert merge.last_timestamp("s") == 2 and merge.last_timestamp("other") is None
    # FilterLogEvents from startTime=2 sees b and c again, then what came after.
    assert merge.start_source_at(end, "s", 2)
    merge.add(end, "s", _lines((2, "b"), (2, "c"), (3, "d")))
    assert delivered == ["a", "b", "c", "d"]


def test_no_read_from_a_timestamp_when_what_was_delivered_is_not_in_time_order() -> None:
    merge, _, _ = _merge()
    head = object()
    merge.start_source(head, "s", from_head=True)
    merge.add(head, "s", _lines((5, "late stamp"), (4, "early stamp")))
    assert not merge.start_source_at(object(), "s", 4)


@pytest.mark.parametrize("seed", range(40))
def test_any_interleaving_of_sessions_and_reads_delivers_the_stream_once_in_order(
        seed: int) -> None:
    """Sessions open at random points and push what follows; a reader pages forward through
    the stream; each source answers in its own order, but the sources interleave at random
    (latency). The result is always the stream, once, in order."""
    rng = random.Random(seed)
    stream = [LogLine(i // 3, f"line {i}") for i in range(60)]  # several lines per millisecond
    merge, delivered, clock = _merge()
    inbox: dict[object, deque[tuple[str, Any]]] = {}
    head = object()
    merge.start_source(head, "s", from_head=True)
    inbox[head] = deque()
    written = head_at = 0
    while written < len(stream) or any(inbox.values()):
        action = rng.random()
        if action < 0.3 and written < len(stream):
            burst = rng.randint(1, 5)
            for session in list(inbox):
                if session is not head:
                    inbox[session].append(("lines", stream[written:written + burst]))
            written = min(len(stream), written + burst)
        elif action < 0.4:
            session = object()
            merge.start_source(session, "s", from_head=False)
            merge.started(session)
            inbox[session] = deque()
        elif action < 0.6:
            # A read sent now: what is written beyond the reader's token; empty = the end.
            requested = clock()
            page = stream[head_at:written]
            head_at = written
            inbox[head].append(("lines", page) if page else ("end", requested))
        else:
            ready = [source for source, queue in inbox.items() if queue]
            if ready:
                source = rng.choice(ready)
                kind, value = inbox[source].popleft()
                if kind == "end":
                    merge.reached_end("s", value)
                else:
                    merge.add(source, "s", value)
    merge.add(head, "s", stream[head_at:])
    assert delivered == [line.message for line in stream]

"""StreamMerge: lines seen by overlapping sources are delivered once, in stream order."""

from __future__ import annotations

from batchmagic.aws.livetail import StreamMerge
from batchmagic.aws.logs import LogLine


def _lines(*pairs: tuple[int, str]) -> list[LogLine]:
    return [LogLine(ts, text) for ts, text in pairs]


def _merge() -> tuple[StreamMerge, list[str]]:
    delivered: list[str] = []
    return StreamMerge(lambda _stream, lines: delivered.extend(x.message for x in lines)), delivered


def test_a_head_read_and_a_session_overlap_without_repeats() -> None:
    merge, delivered = _merge()
    session, head = object(), object()
    merge.start_source(session, "s", from_head=False)  # the session starts: sees what comes next
    merge.start_source(head, "s", from_head=True)
    merge.add(head, "s", _lines((1, "a"), (2, "b"), (3, "c")))  # written before and after
    merge.add(session, "s", _lines((3, "c"), (4, "d")))  # only what came after it started
    assert delivered == ["a", "b", "c", "d"]


def test_identical_lines_are_kept_when_they_really_repeat() -> None:
    merge, delivered = _merge()
    source = object()
    merge.start_source(source, "s", from_head=True)
    merge.add(source, "s", _lines((1, "same"), (1, "same")))
    assert delivered == ["same", "same"]


def test_two_sessions_overlapping_deliver_each_line_once() -> None:
    merge, delivered = _merge()
    old, new = object(), object()
    merge.start_source(old, "s", from_head=False)
    merge.add(old, "s", _lines((1, "x")))
    merge.start_source(new, "s", from_head=False)
    merge.add(old, "s", _lines((2, "y")))
    merge.add(new, "s", _lines((2, "y"), (3, "z")))
    assert delivered == ["x", "y", "z"]


def test_a_final_read_from_the_head_adds_only_what_was_missed() -> None:
    merge, delivered = _merge()
    session, final = object(), object()
    merge.start_source(session, "s", from_head=False)
    merge.add(session, "s", _lines((1, "a"), (3, "c")))  # (2, "b") never came live
    merge.start_source(final, "s", from_head=True)
    merge.add(final, "s", _lines((1, "a"), (2, "b"), (3, "c"), (4, "d")))
    assert delivered == ["a", "c", "b", "d"]

"""Every line of a run stays reachable: progress updates replace in place, old lines spill."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from batchmagic.run.logbook import ContainerLog, LogBook, read_line


def test_a_leading_carriage_return_replaces_the_previous_line() -> None:
    assert read_line("plain") == ("plain", False)
    assert read_line("\r 50%|#####") == (" 50%|#####", True)
    # A terminal (and Jupyter) shows what follows the last carriage return.
    assert read_line("a 10%\ra 20%\r") == ("a 20%", False)


def test_progress_updates_leave_only_the_final_state() -> None:
    log = ContainerLog("main")
    for message in ["start", "  0%", "\r 50%", "\r100%", "done", "\rreplaced done"]:
        log.add(message)
    assert log == ["start", "100%", "replaced done"]


def test_lines_beyond_the_memory_cap_spill_to_a_file_and_read_back_in_order(
        tmp_path: Path) -> None:
    log = ContainerLog("main", memory_lines=10, spill_to=tmp_path)
    for i in range(95):
        log.add(f"line {i}")
    log.add("\rline 94 final")
    assert log.spilled > 0
    expected = [f"line {i}" for i in range(94)] + ["line 94 final"]
    assert len(log) == 95 and list(log) == expected and log == expected
    assert log[3] == "line 3" and log[-1] == "line 94 final" and log[90:92] == expected[90:92]
    assert log.tail(2) == expected[-2:]
    assert log.text().splitlines() == expected
    assert "line 5" in log
    assert list(tmp_path.iterdir())
    del log
    gc.collect()
    assert not list(tmp_path.iterdir()), "the spill file outlived its log"


def _spilled_log(tmp_path: Path, count: int = 30) -> ContainerLog:
    log = ContainerLog("main", memory_lines=10, spill_to=tmp_path)
    for i in range(count):
        log.add(f"line {i}")
    return log


def test_any_line_or_slice_reads_across_the_spill_file(tmp_path: Path) -> None:
    log = _spilled_log(tmp_path)
    expected = [f"line {i}" for i in range(30)]
    assert 0 < log.spilled < 30
    for index in (0, log.spilled - 1, log.spilled, 29, -1, -30):
        assert log[index] == expected[index]
    for part in (slice(0, 3), slice(log.spilled - 2, log.spilled + 2), slice(25, 40),
                 slice(None, None, -7), slice(1, 29, 5), slice(log.spilled, None, 2)):
        assert log[part] == expected[part]
    for index in (30, -31):
        with pytest.raises(IndexError, match=r"^log line index out of range$"):
            log[index]


def test_tail_is_at_most_the_whole_log(tmp_path: Path) -> None:
    log = _spilled_log(tmp_path, 5)
    assert log.tail(2) == ["line 3", "line 4"]
    assert log.tail(1) == ["line 4"]
    assert log.tail(9) == [f"line {i}" for i in range(5)]
    assert log.tail(0) == [] and log.tail(-1) == []


def test_a_progress_update_replaces_the_last_line_even_right_after_a_spill(
        tmp_path: Path) -> None:
    log = ContainerLog("main", memory_lines=10, spill_to=tmp_path)
    for i in range(11):
        log.add(f"{i * 10}%")
    assert log.spilled == 5  # half of memory at a time
    log.add("\r100%")
    assert list(log) == [f"{i * 10}%" for i in range(10)] + ["100%"]


def test_memory_holds_at_least_two_lines(tmp_path: Path) -> None:
    log = ContainerLog("main", memory_lines=0, spill_to=tmp_path)
    for i in range(3):
        log.add(str(i))
    assert log.spilled == 1 and list(log) == ["0", "1", "2"]


def test_spill_files_go_under_the_state_dir(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHMAGIC_STATE_DIR", str(tmp_path / "new" / "state"))
    log = ContainerLog("stage-out", memory_lines=4)
    for i in range(6):
        log.add(str(i))
    spilled = list((tmp_path / "new" / "state" / "logs").iterdir())
    assert len(spilled) == 1 and spilled[0].name.endswith("-stage-out.jsonl")
    assert spilled[0].read_text().splitlines() == ['"0"', '"1"']


def test_a_long_log_prints_as_its_size_and_last_lines(tmp_path: Path) -> None:
    short = ContainerLog("main")
    for i in range(20):
        short.add(str(i))
    assert repr(short) == repr([str(i) for i in range(20)])
    short.add("20")
    assert repr(short) == "<21 lines of main: …['18', '19', '20']>"
    assert short == tuple(str(i) for i in range(21)) and short != [str(i) for i in range(20)]
    assert short != "0"
    assert short != [str(i) for i in range(20)] + ["other"]  # same length, other lines
    assert read_line("\r") == ("", True)


def test_a_log_book_has_one_log_per_container_with_the_same_options(tmp_path: Path) -> None:
    book = LogBook(memory_lines=4, spill_to=tmp_path)
    assert book.names() == ["stage-in", "main", "stage-out"]
    assert book.main is book.container("main")
    for i in range(6):
        book.container("stage-in").add(str(i))
    assert book.container("stage-in").spilled == 2
    assert book.container("stage-in").name == "stage-in"
    extra = book.container("sidecar")
    assert extra is book.container("sidecar") and book.names()[-1] == "sidecar"


def test_two_logs_of_the_same_container_spill_apart(tmp_path: Path) -> None:
    first, second = (ContainerLog("main", memory_lines=4, spill_to=tmp_path) for _ in range(2))
    for i in range(8):
        first.add(f"first {i}")
        second.add(f"second {i}")
    assert list(first) == [f"first {i}" for i in range(8)]
    assert list(second) == [f"second {i}" for i in range(8)]


def test_reading_while_lines_spill_gives_the_log_as_it_was_when_reading_began(
        tmp_path: Path) -> None:
    # run.logs read while the follower thread adds lines: the spill file grows under the
    # reader (its lines are long enough that the reader has not buffered them all yet).
    log = ContainerLog("main", memory_lines=100, spill_to=tmp_path)
    lines = [f"{i:04d} " + "x" * 200 for i in range(160)]
    for line in lines[:101]:
        log.add(line)
    assert log.spilled == 50
    reading = iter(log)
    assert next(reading) == lines[0]
    for line in lines[101:]:
        log.add(line)  # spills 50 more lines into the file being read
    assert log.spilled == 100
    assert [lines[0], *reading] == lines[:101]
    assert list(log) == lines


def test_a_spill_file_already_gone_is_removed_quietly(tmp_path: Path) -> None:
    from batchmagic.run.logbook import _remove

    spilled = tmp_path / "spill.jsonl"
    spilled.write_text("")
    _remove(spilled)
    assert not spilled.exists()
    _remove(spilled)  # gone already (the state dir was cleaned up first): nothing to do

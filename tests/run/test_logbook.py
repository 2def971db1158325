"""Every line of a run stays reachable: progress updates replace in place, old lines spill."""

from __future__ import annotations

import gc
from pathlib import Path

from batchmagic.run.logbook import ContainerLog, read_line


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

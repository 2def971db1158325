"""What a user reads around a run: grouped help, one emulator note per kernel, a one-line
interrupt, and finished runs let go by the magics."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest

from batchmagic.aws.clients import AwsClients
from tests.notebook.test_control import SLOW_CELL, _interrupt_when_running


def test_help_groups_options_and_its_usage_line_names_the_cell_magic(ip: Any) -> None:
    help_text = ip.magics_manager.magics["cell"]["aws_batch"].__doc__
    usage = help_text.split("::\n\n", 1)[1].lstrip()
    assert usage.startswith("%%aws_batch [--inputs"), usage[:80]
    this_run = help_text.index("this run:")
    settings = help_text.index("settings — also %aws_batch_config:")
    assert this_run < help_text.index("--push <NAME") < settings < help_text.rindex("--bucket")


def test_the_emulator_note_shows_once_per_kernel(ip: Any, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    monkeypatch.setattr(magics, "_told_local", False)  # as in a fresh kernel
    ip.run_cell_magic("aws_batch", "", "print('one')")
    ip.run_cell_magic("aws_batch", "", "print('two')")
    assert capsys.readouterr().err.count("running on the local emulator") == 1


def test_finished_runs_are_let_go_once_bound(ip: Any) -> None:
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    blocking = ip.run_cell_magic("aws_batch", "--local --pull x", "x = 1")
    assert blocking not in magics.runs and ip.user_ns["x"] == 1
    background = ip.run_cell_magic("aws_batch", "--local --no-wait --pull y", "y = 2")
    assert background in magics.runs
    deadline = time.monotonic() + 60
    while not background.done:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ip.run_cell("pass")  # the next cell binds its results first, then lets it go
    assert ip.user_ns["y"] == 2
    assert background not in magics.runs


def test_an_interrupt_reports_one_line(ip: Any, local_clients: AwsClients) -> None:
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    found: dict[str, Any] = {}
    watcher = threading.Thread(target=_interrupt_when_running,
                               args=(magics, found, tuple(magics.runs)))
    watcher.start()
    with pytest.raises(KeyboardInterrupt) as caught:
        ip.run_cell_magic("aws_batch", "--local", SLOW_CELL)
    watcher.join()
    shown = caught.value._render_traceback_()  # type: ignore[attr-defined]
    assert len(shown) == 1 and shown[0].startswith("KeyboardInterrupt: job "), shown
    assert f"({found['job_id']}) terminated" in shown[0], shown  # this cell's own job
    # The status when Ctrl-C came, not the FAILED that TerminateJob leads to.
    assert re.search(r"terminated \(was (STARTING|RUNNING)\);", shown[0]), shown

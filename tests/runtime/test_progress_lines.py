"""Carriage-return progress bars become complete lines a line-based log can ship: the first state
as a line, later states as lines starting with \\r (replace), at most 4 a second, final state
always."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from batchmagic.runtime.progress_lines import Shaping
from tests.runtime.test_bootstrap import environment, stage


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def streams(monkeypatch: pytest.MonkeyPatch) -> tuple[io.StringIO, io.StringIO]:
    """Set as sys.stdout/sys.stderr by ``Shaping`` in the tests (pytest swaps its own capture
    in after fixtures ran)."""
    return io.StringIO(), io.StringIO()


def shaping(streams: tuple[io.StringIO, io.StringIO], monkeypatch: pytest.MonkeyPatch,
            clock: FakeClock | None = None) -> Shaping:
    monkeypatch.setattr(sys, "stdout", streams[0])
    monkeypatch.setattr(sys, "stderr", streams[1])
    return Shaping(clock=clock or FakeClock())


def test_ordinary_output_passes_through_untouched(
        streams: tuple[io.StringIO, io.StringIO], monkeypatch: pytest.MonkeyPatch) -> None:
    shaped = shaping(streams, monkeypatch)
    print("hello", end="")
    print(" world")
    print("boom", file=sys.stderr)
    shaped.close()
    assert streams[0].getvalue() == "hello world\n" and streams[1].getvalue() == "boom\n"
    assert sys.stdout is streams[0]


def test_redraws_become_lines_at_a_bounded_rate_with_the_final_state(
        streams: tuple[io.StringIO, io.StringIO], monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    shaped = shaping(streams, monkeypatch, clock)
    for percent in range(0, 101, 10):  # 11 redraws, 0.1 s apart
        sys.stderr.write(f"\r{percent:3d}%|" + "#" * (percent // 10))
        clock.now += 0.1
    sys.stderr.write("\n")
    print("after")
    shaped.close()
    lines = streams[1].getvalue().split("\n")[:-1]  # splitlines() splits at \r too
    assert lines[0] == "  0%|"
    assert all(line.startswith("\r") for line in lines[1:])
    assert lines[-1] == "\r100%|##########"
    assert 3 <= len(lines) <= 6, lines  # 1.1 s of redraws, at most one per 0.25 s
    assert streams[0].getvalue() == "after\n"


def test_text_before_the_first_redraw_is_the_line_that_gets_replaced(
        streams: tuple[io.StringIO, io.StringIO], monkeypatch: pytest.MonkeyPatch) -> None:
    shaped = shaping(streams, monkeypatch)
    print("Epoch 1/3", end="", flush=True)
    print("\rEpoch 1/3 loss 0.5")
    shaped.close()
    assert streams[0].getvalue() == "Epoch 1/3\n\rEpoch 1/3 loss 0.5\n"


def test_another_streams_line_in_between_starts_a_new_line(
        streams: tuple[io.StringIO, io.StringIO], monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    shaped = shaping(streams, monkeypatch, clock)
    sys.stderr.write("\r 10%")
    print("a message")
    clock.now += 1
    sys.stderr.write("\r 20%")
    shaped.close()  # the cell ended in the middle of the bar: its last state is written
    assert streams[1].getvalue() == " 10%\n 20%\n"


def test_the_bootstrap_shapes_the_cells_output(tmp_path: Path) -> None:
    cell = ("import sys, time\nfor i in range(5):\n"
            "    sys.stderr.write(f'\\rstep {i}'); sys.stderr.flush(); time.sleep(0.15)\n"
            "sys.stderr.write('\\n')\nprint('done')\n")
    workdir = stage(tmp_path, cell)
    # Bytes: text mode's universal newlines would turn each \r into \n.
    finished = subprocess.run([sys.executable, str(workdir / ".batchmagic/bootstrap.py")],
                              env=environment(workdir), cwd=tmp_path, capture_output=True,
                              timeout=60, check=False)
    assert finished.returncode == 0, finished.stderr
    lines = finished.stderr.decode().split("\n")[:-1]
    assert lines[0] == "step 0" and lines[-1] == "\rstep 4", lines
    assert all(line.startswith("\rstep ") for line in lines[1:]), lines
    assert "done" in finished.stdout.decode().splitlines()

"""A background run finishes on its own: its output files come back with nobody waiting."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def test_no_wait_outputs_come_back_with_nobody_waiting(ip: Any, tmp_path: Path) -> None:
    run = ip.run_cell_magic("aws_batch", "--local --no-wait --outputs 'made-*.txt'",
                            "for i in range(3):\n    open(f'made-{i}.txt', 'w').write(str(i))")
    # Nobody calls run.wait() or reads a result: the run's own thread downloads, then says done.
    assert run.done_event.wait(120)
    assert {p.name: p.read_text() for p in tmp_path.glob("made-*.txt")} == {
        "made-0.txt": "0", "made-1.txt": "1", "made-2.txt": "2"}
    assert not list(tmp_path.glob("**/*.part")) and not list(tmp_path.glob("**/.*tmp*"))

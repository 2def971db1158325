"""Outputs never bring back what lies outside the job's work dir, and say what they skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

HOST_FILE_TEXT = "a file of the machine, not of the job\n"


def test_links_out_of_the_work_dir_are_skipped_and_named(ip: Any, tmp_path: Path) -> None:
    host = tmp_path.parent / f"{tmp_path.name}-host.txt"
    host.write_text(HOST_FILE_TEXT)
    cell = (
        "import os\n"
        f"os.symlink({str(host)!r}, 'host.txt')\n"
        "os.symlink('/', 'root')\n"
        "os.symlink('kept.txt', 'alias.txt')\n"
        "open('kept.txt', 'w').write('mine')\n"
    )
    run = ip.run_cell_magic(
        "aws_batch", "--local --outputs '*.txt' 'root/*' --output-dir out", cell)
    out = tmp_path / "out"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["kept.txt"]
    assert (out / "kept.txt").read_text() == "mine"
    warnings = "\n".join(run.warnings)
    assert f"host.txt was not brought back: a symbolic link to a path outside the work dir " \
           f"(-> {host})" in warnings
    assert "root was not brought back" in warnings
    assert "alias.txt was not brought back: a symbolic link inside the work dir" in warnings

"""The code style gates, part of the test command: ruff and mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean() -> None:
    # Notebooks are left out: names bound by magics (--pull, --result) are unknown to ruff.
    result = _run(sys.executable, "-m", "ruff", "check", "batchmagic", "tests", "benchmarks",
                  "notebooks/execute.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


MAX_MODULE_LINES = 350


def _long_modules(root: Path) -> list[str]:
    return [f"{path.relative_to(root)}: {lines} lines"
            for path in sorted((root / "batchmagic").rglob("*.py"))
            if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES]


def test_no_module_is_over_350_lines() -> None:
    # Split a long module by responsibility (what it is about), not by line count.
    assert not _long_modules(ROOT), _long_modules(ROOT)


def test_the_line_limit_sees_a_long_module(tmp_path: Path) -> None:
    (tmp_path / "batchmagic" / "room").mkdir(parents=True)
    (tmp_path / "batchmagic" / "room" / "long.py").write_text("x = 1\n" * 351)
    (tmp_path / "batchmagic" / "short.py").write_text("x = 1\n" * 350)
    assert _long_modules(tmp_path) == ["batchmagic/room/long.py: 351 lines"]

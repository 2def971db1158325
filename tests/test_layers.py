"""The package's layers import downwards only: notebook -> run -> aws -> jobdef -> settings/errors.

Reads every module's imports (including those inside functions) with ``ast``, so a lower layer
that reaches up fails here, whichever way the import is written.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "batchmagic"

# Each room and the rooms it may import (itself always allowed).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "settings": set(),
    "runtime": set(),
    "config": {"settings", "errors"},
    "jobdef": {"settings", "errors"},
    "aws": {"jobdef", "settings", "errors"},
    "ledger": {"aws", "settings", "errors"},
    # run/target.py starts the local emulator and gives it what `batchmagic setup` makes.
    "run": {"aws", "jobdef", "ledger", "runtime", "settings", "errors", "provision", "emulator"},
    "notebook": {"run", "aws", "jobdef", "ledger", "config", "runtime", "settings", "errors",
                 "provision", "emulator"},
    # doctor --local starts the per-user emulator it checks.
    "provision": {"aws", "jobdef", "settings", "errors", "emulator"},
    # The emulator is an independent check of AWS's rules: it may share only the state dir.
    "emulator": {"settings"},
    "cli": {"provision", "emulator", "settings", "errors"},
    "__main__": {"cli"},
    "__init__": {"errors", "notebook"},
}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "batchmagic":
                found += [(node.lineno, f"batchmagic.{alias.name}") for alias in node.names]
            elif node.module.startswith("batchmagic."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("batchmagic.")]
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "runtime" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    relative = path.relative_to(PACKAGE)
    room = relative.parts[0].removesuffix(".py")
    assert room in ALLOWED, f"{relative}: add its room to ALLOWED"
    wrong = [f"line {line}: {module}" for line, module in _imports(path)
             if _room(module) != room and _room(module) not in ALLOWED[room]]
    assert not wrong, f"{relative} ({room}) imports a higher or unrelated layer: {wrong}"


def test_runtime_is_standard_library_only() -> None:
    for path in (PACKAGE / "runtime").rglob("*.py"):
        assert not _imports(path), f"{path.name} is shipped into the container: stdlib only"


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from batchmagic.notebook.display import make_display\n")
    assert _imports(bad) == [(2, "batchmagic.notebook.display")]
    assert "notebook" not in ALLOWED["aws"]

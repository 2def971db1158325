"""The --map child runner: which files of an item come back, and where they go."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "batchmagic" / "runtime"))
import mapchild


def test_an_items_new_outputs_move_and_changed_inputs_are_copied(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("input")
    (tmp_path / "results").mkdir()
    (tmp_path / "untouched.csv").write_text("old")
    before = mapchild._snapshot(str(tmp_path))
    (tmp_path / "results" / "a.csv").write_text("new")
    (tmp_path / "notes.txt").write_text("not an output")
    (tmp_path / ".outputs").mkdir()
    (tmp_path / ".outputs" / "plot.png").write_text("png")
    os.utime(tmp_path / "data.csv", (1, 1))  # the item rewrote an input
    target = tmp_path / ".map" / "3" / "out"
    moved = mapchild.collect_outputs(str(tmp_path), before, str(target), ["*.csv"])
    assert moved == 3
    assert (target / "results" / "a.csv").read_text() == "new"
    assert not (tmp_path / "results" / "a.csv").exists()  # the next item starts clean
    assert (target / "data.csv").read_text() == "input" and (tmp_path / "data.csv").exists()
    assert (target / ".outputs" / "plot.png").read_text() == "png"
    assert not (target / "untouched.csv").exists() and not (target / "notes.txt").exists()


def test_children_own_every_kth_item(monkeypatch: object) -> None:
    env = {"AWS_BATCH_JOB_ARRAY_INDEX": "1", "BATCHMAGIC_MAP_CHILDREN": "3"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        assert list(mapchild.owned_items(8)) == [1, 4, 7]
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

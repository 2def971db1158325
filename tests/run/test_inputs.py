"""--inputs: which local files a run stages, under which keys, and each refusal in full."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchmagic.errors import ConfigurationError
from batchmagic.run.inputs import plan_inputs


def _tree(root: Path, files: list[str]) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)


def refusal(patterns: list[str], base: Path) -> str:
    with pytest.raises(ConfigurationError) as info:
        plan_inputs(patterns, base)
    return str(info.value)


def test_each_refusal_names_the_pattern_and_the_way_out(tmp_path: Path) -> None:
    _tree(tmp_path, [".batchmagic/cell.py", "one/y.csv", "two/y.csv"])
    assert refusal(["nope.csv"], tmp_path) == (
        f"input 'nope.csv': no such file or directory (relative paths start at {tmp_path})")
    assert refusal(["*.parquet"], tmp_path) == (
        f"input '*.parquet': no such file or directory (relative paths start at {tmp_path})")
    assert refusal([".batchmagic"], tmp_path) == (
        "input '.batchmagic': '.batchmagic/cell.py' is under .batchmagic/, which batchmagic "
        "reserves for its own files; move or rename it")
    one, two = tmp_path / "one/y.csv", tmp_path / "two/y.csv"
    assert refusal([str(one), str(two)], tmp_path / "one") == (
        f"input '{two}': {two} and {one} would both be staged as 'y.csv'; rename one or stage "
        "their directories instead")


def test_a_home_relative_pattern_is_expanded(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    _tree(tmp_path, ["data/a.csv"])
    base = tmp_path / "notebooks"
    base.mkdir()
    assert plan_inputs(["~/data/a.csv"], base) == [(tmp_path / "data/a.csv", "a.csv")]
    assert plan_inputs(["~/data/*.csv"], base) == [(tmp_path / "data/a.csv", "a.csv")]


def test_a_glob_that_matches_directories_stages_their_files(tmp_path: Path) -> None:
    _tree(tmp_path, ["run1/a.csv", "run1/deep/b.csv", "run2/c.csv", "other/d.csv"])
    assert [key for _, key in plan_inputs(["run*"], tmp_path)] == [
        "run1/a.csv", "run1/deep/b.csv", "run2/c.csv"]
    outside = tmp_path / "nb"
    outside.mkdir()
    # Outside the notebook's directory, keys start below the glob's fixed directories.
    assert [key for _, key in plan_inputs([str(tmp_path / "run?")], outside)] == [
        "run1/a.csv", "run1/deep/b.csv", "run2/c.csv"]
    assert [key for _, key in plan_inputs([str(tmp_path / "run1" / "[a]*")], outside)] == [
        "a.csv"]


def test_the_plan_is_sorted_by_key_and_lists_each_file_once(tmp_path: Path) -> None:
    _tree(tmp_path, ["b.txt", "a/z.txt", "a/b.txt"])
    plan = plan_inputs(["b.txt", "a", "a/*.txt"], tmp_path)
    assert plan == [(tmp_path / "a/b.txt", "a/b.txt"), (tmp_path / "a/z.txt", "a/z.txt"),
                    (tmp_path / "b.txt", "b.txt")]


def test_a_symlinked_directory_is_not_followed_but_a_symlinked_file_is_staged(
        tmp_path: Path) -> None:
    _tree(tmp_path, ["real/a.txt", "data/b.txt"])
    (tmp_path / "data/loop").symlink_to(tmp_path / "data")
    (tmp_path / "data/link.txt").symlink_to(tmp_path / "real/a.txt")
    assert [key for _, key in plan_inputs(["data"], tmp_path)] == ["data/b.txt",
                                                                  "data/link.txt"]

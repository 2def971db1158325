"""What a finished run brings back: protocol lines, result.json, pulled values, --outputs."""

from __future__ import annotations

import json
import pickle
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from batchmagic.errors import JobFailedError
from batchmagic.run.outputs import CellResult, load_pulled, parse_protocol_line, unmatched_patterns

# --- ::{...}:: lines ----------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "expected"), [
    ('::{"outputs": {"total": 42}}::', {"outputs": {"total": 42}}),
    ('  ::{"outputs": {}}::\n', {"outputs": {}}),  # as read from a log, with its newline
    ("::{}::", {}),
    ("::nope::", None),
    ('::["outputs"]::', None),
    ('::{"outputs": 1}', None),
    ('{"outputs": 1}::', None),
    (':: {"outputs": 1}::', None),
    ('::{"outputs": }::', None),
    ("::{}{}::", None),
    ("", None),
    ("plain log line", None),
])
def test_protocol_lines_are_json_objects_between_double_colons(
        line: str, expected: dict[str, Any] | None) -> None:
    assert parse_protocol_line(line) == expected


# --- result.json --------------------------------------------------------------------------------


def test_a_missing_or_unreadable_result_means_nothing_is_known() -> None:
    for data in (None, b"", b"{not json", b"\xff\xfe"):
        result = CellResult.parse(data)
        assert result == CellResult()
        assert result.ok is None and result.outputs == {} and result.started_at is None


def test_result_json_is_read_field_by_field() -> None:
    raw = {
        "ok": False, "exit_code": 1, "exception_type": "ValueError", "exception_message": "bad",
        "traceback": "Traceback ...", "outputs": {"n": 1}, "missing_pull": ["x"],
        "unpicklable_pull": {"lock": "TypeError: no"}, "usage": {"max_rss_mib": 12.5},
        "skipped_links": [{"path": "a", "reason": "r", "target": "/t"}, "junk", None],
        "started_at": 100, "ended_at": 101.5, "pull_manifest": {"python": "3.11.4"},
    }
    result = CellResult.parse(json.dumps(raw).encode())
    assert result == CellResult(
        ok=False, exception_type="ValueError", exception_message="bad",
        traceback="Traceback ...", outputs={"n": 1}, missing_pull=["x"],
        unpicklable_pull={"lock": "TypeError: no"}, usage={"max_rss_mib": 12.5},
        skipped_links=[{"path": "a", "reason": "r", "target": "/t"}],
        started_at=100.0, ended_at=101.5, pull_manifest={"python": "3.11.4"},
    )
    assert isinstance(result.started_at, float)


def test_absent_or_malformed_fields_fall_back_to_empty_values() -> None:
    raw = {"ok": True, "outputs": None, "missing_pull": None, "unpicklable_pull": None,
           "usage": None, "skipped_links": None, "started_at": "yesterday", "ended_at": None,
           "pull_manifest": {}}
    assert CellResult.parse(json.dumps(raw).encode()) == CellResult(ok=True)


def test_each_skipped_link_becomes_one_warning() -> None:
    result = CellResult(skipped_links=[
        {"path": "out/latest", "reason": "a symbolic link", "target": "/etc/passwd"},
        {"path": "b", "reason": "points outside the work dir", "target": "../x"},
    ])
    assert result.link_warnings() == [
        "out/latest was not brought back: a symbolic link (-> /etc/passwd); "
        "stage-out never follows links",
        "b was not brought back: points outside the work dir (-> ../x); "
        "stage-out never follows links",
    ]
    assert CellResult().link_warnings() == []


# --- pull.pkl ------------------------------------------------------------------------------------


def test_pulled_values_come_back_as_a_dict() -> None:
    assert load_pulled(pickle.dumps({"a": [1, 2], "b": "x"})) == {"a": [1, 2], "b": "x"}
    assert load_pulled(None) == {} and load_pulled(b"") == {}
    assert load_pulled(pickle.dumps([1, 2])) == {}  # not what the bootstrap writes
    assert CellResult().pulled_from(pickle.dumps({"a": 1})) == {"a": 1}


def test_a_class_defined_in_the_cell_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel's __main__ (IPython's user module) does not have the cell's class.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    class_blob = (b"\x80\x04\x95\x1b\x00\x00\x00\x00\x00\x00\x00\x8c\x08__main__\x94"
                  b"\x8c\x0eNotInTheKernel\x94\x93\x94.")
    with pytest.raises(JobFailedError) as info:
        load_pulled(class_blob, {"python": "3.11.4", "modules": {}})
    message = str(info.value)
    assert message.startswith("--pull: a value is a NotInTheKernel, a class defined in the cell")
    assert "run the definition of NotInTheKernel in the kernel too" in message


def test_an_unpickling_failure_names_the_versions_that_differ() -> None:
    broken = pickle.dumps({"a": 1})[:-3]
    manifest = {"python": "3.8.0", "modules": {"pickle": "9.9"}}
    with pytest.raises(JobFailedError) as info:
        CellResult(pull_manifest=manifest).pulled_from(broken)
    message = str(info.value)
    assert message.startswith("the --pull values cannot be unpickled in the kernel "
                              "(UnpicklingError: ")
    assert "versions differ (install the job's versions here, or --pip the kernel's in the " \
           "job):\n" in message
    table = message.split("job):\n", 1)[1].splitlines()
    assert table[0].split() == ["module", "job", "kernel"]
    assert table[1].split()[:2] == ["python", "3.8.0"]


def test_without_a_manifest_the_unpickling_error_itself_is_raised() -> None:
    with pytest.raises(pickle.UnpicklingError):
        load_pulled(pickle.dumps({"a": 1})[:-3])
    with pytest.raises(pickle.UnpicklingError):
        load_pulled(pickle.dumps({"a": 1})[:-3], {})


# --- --outputs patterns that found nothing --------------------------------------------------------


def test_each_pattern_that_brought_nothing_back_is_named(tmp_path: Path) -> None:
    files = [Path("/elsewhere/b.txt"), tmp_path / "results/a.csv", tmp_path / "plot.png"]
    warnings = unmatched_patterns(("*.csv", "plot.png", "*.txt", "results/*.json"), tmp_path,
                                  files)
    # `*` also matches `/`, as the AWS CLI's --include does; files outside the dir are not used.
    assert warnings == [
        "--outputs '*.txt' matched no file in the work dir; nothing came back for it",
        "--outputs 'results/*.json' matched no file in the work dir; nothing came back for it",
    ]
    assert unmatched_patterns((), tmp_path, files) == []


def test_the_output_dir_is_compared_by_its_real_path(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    assert unmatched_patterns(("a.txt",), link, [real / "a.txt"]) == []

"""``--map``: the options, the items, the array size and the SubmitJob it changes (no AWS)."""

from __future__ import annotations

import dataclasses
import json
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchmagic.errors import ConfigurationError
from batchmagic.run import fanout
from batchmagic.run.fanout import MapOptions
from batchmagic.run.prepare import PreparedRun, RunOptions, prepare
from batchmagic.settings import Settings

MAPPED = MapOptions(iterable="params", as_name="p")


def refused(options: MapOptions, push: tuple[str, ...] = ()) -> str:
    with pytest.raises(ConfigurationError) as info:
        fanout.check_map_options(options, push, ())
    return str(info.value)


# --- the options alone ---------------------------------------------------------------------------


@pytest.mark.parametrize("retries", [0, 1, 9])
def test_retries_within_what_batch_allows_are_accepted(retries: int) -> None:
    fanout.check_map_options(dataclasses.replace(MAPPED, retries=retries), (), ())


@pytest.mark.parametrize("retries", [-1, 10])
def test_retries_beyond_what_batch_allows_are_refused(retries: int) -> None:
    assert refused(dataclasses.replace(MAPPED, retries=retries)) == (
        f"--retries {retries}: use 0-9 (AWS Batch allows 1-10 attempts a job)")


@pytest.mark.parametrize(("flag", "change"), [
    ("--as", {"as_name": "p"}),
    ("--max-parallel", {"max_parallel": 2}),
    ("--max-children", {"max_children": 200}),
    ("--min-success", {"min_success": 0.5}),
])
def test_map_only_options_need_map(flag: str, change: dict[str, Any]) -> None:
    assert refused(MapOptions(**change)) == f"{flag} only applies to --map ITERABLE_NAME runs"
    fanout.check_map_options(MapOptions(), (), ())  # a plain run: nothing to check


def test_retries_are_checked_for_a_plain_run_too() -> None:
    assert refused(MapOptions(retries=12)).startswith("--retries 12: use 0-9")


@pytest.mark.parametrize(("options", "push", "message"), [
    (MapOptions(iterable="2x", as_name="p"), (), "--map '2x': not a valid Python variable name"),
    (MapOptions(iterable="", as_name="p"), (), "--map '': not a valid Python variable name"),
    (MapOptions(iterable="params"), (), "--map params needs --as ITEM_NAME: the name each child "
     "binds its item to, e.g. --map params --as p"),
    (MapOptions(iterable="params", as_name="p-1"), (),
     "--as 'p-1': not a valid Python variable name"),
    (MAPPED, ("data", "p"), "--as p is also a --push name: each child binds its own item to p; "
     "rename one of them"),
    (dataclasses.replace(MAPPED, max_parallel=0), (), "--max-parallel 0: at least 1 child must "
     "run"),
    (dataclasses.replace(MAPPED, max_children=0), (), "--max-children: use 1-10,000"),
    (dataclasses.replace(MAPPED, max_children=10_001), (), "--max-children: use 1-10,000"),
    (dataclasses.replace(MAPPED, on_error="ignore"), (),
     "--on-error 'ignore': use raise or collect"),
    (dataclasses.replace(MAPPED, min_success=0.0), (), "--min-success 0.0: a share of items "
     "above 0 and at most 1, e.g. 0.9"),
    (dataclasses.replace(MAPPED, min_success=1.5), (), "--min-success 1.5: a share of items "
     "above 0 and at most 1, e.g. 0.9"),
])
def test_each_bad_map_option_gets_its_own_line(options: MapOptions, push: tuple[str, ...],
                                               message: str) -> None:
    assert refused(options, push) == message


@pytest.mark.parametrize("change", [
    {"max_parallel": 1}, {"max_children": 1}, {"max_children": 10_000}, {"on_error": "collect"},
    {"min_success": 1.0}, {"min_success": 0.01},
])
def test_the_edges_of_each_range_are_accepted(change: dict[str, Any]) -> None:
    fanout.check_map_options(dataclasses.replace(MAPPED, **change), ("data",), ())


# --- the items ------------------------------------------------------------------------------------


def test_items_are_read_from_the_kernel_as_a_list() -> None:
    def generate() -> Iterator[int]:
        yield from (3, 4)

    assert fanout.read_items(MAPPED, {"params": (1, 2)}) == [1, 2]
    assert fanout.read_items(MAPPED, {"params": range(3)}) == [0, 1, 2]
    assert fanout.read_items(MAPPED, {"params": generate()}) == [3, 4]
    # A dict maps over its (key, value) pairs.
    assert fanout.read_items(MAPPED, {"params": {"a": 1, "b": 2}}) == [("a", 1), ("b", 2)]


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "--map params: is a str; map over a list of items instead (e.g. [params] for a "
            "single one)"),
    (b"abc", "--map params: is a bytes; map over a list of items instead (e.g. [params] for a "
             "single one)"),
    (5, "--map params: an int is not iterable; use a list, range, dict or generator of items"),
    (2.5, "--map params: a float is not iterable; use a list, range, dict or generator of "
          "items"),
    ([], "--map params is empty: there is nothing to run"),
])
def test_items_that_cannot_be_mapped_are_refused(value: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        fanout.read_items(MAPPED, {"params": value})
    assert str(info.value) == message


def test_an_undefined_iterable_is_refused() -> None:
    with pytest.raises(ConfigurationError) as info:
        fanout.read_items(MAPPED, {})
    assert str(info.value) == "--map params: not defined in the kernel; define it first"


def test_an_item_that_cannot_be_pickled_is_named_by_position() -> None:
    with pytest.raises(ConfigurationError) as info:
        fanout.read_items(MAPPED, {"params": [1, 2, threading.Lock()]})
    assert str(info.value) == (
        "--map params: item 2 cannot be pickled (TypeError: cannot pickle '_thread.lock' "
        "object); map over plain data (numbers, strings, dicts, paths)")


# --- how many children ---------------------------------------------------------------------------


def test_one_child_per_item_up_to_the_array_limit() -> None:
    assert fanout.array_size(MAPPED, 1) == 1
    assert fanout.array_size(MAPPED, 10_000) == 10_000
    with pytest.raises(ConfigurationError) as info:
        fanout.array_size(MAPPED, 10_001)
    assert str(info.value) == (
        "--map params: 10,001 items, but an array job has at most 10,000 children; add "
        "--max-parallel K (each child then runs its share of the items)")


def test_max_parallel_children_share_the_items() -> None:
    sharing = dataclasses.replace(MAPPED, max_parallel=3)
    assert fanout.array_size(sharing, 20_000) == 3
    assert fanout.array_size(sharing, 2) == 2
    plan = fanout.plan_map(sharing, list(range(7)), None)
    assert (plan.count, plan.children) == (7, 3)
    assert [plan.child_of(i) for i in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    assert [list(plan.items_of(child)) for child in range(3)] == [[0, 3, 6], [1, 4], [2, 5]]


def test_more_than_a_hundred_children_need_confirming() -> None:
    assert fanout.plan_map(MAPPED, list(range(100)), None).children == 100
    with pytest.raises(ConfigurationError) as info:
        fanout.plan_map(MAPPED, list(range(1_500)), None)
    assert str(info.value) == (
        "--map params would start 1,500 children (more than 100); confirm with "
        "--max-children 1500 or share the items with --max-parallel K")
    confirmed = dataclasses.replace(MAPPED, max_children=1_500)
    assert fanout.plan_map(confirmed, list(range(1_500)), None).children == 1_500
    with pytest.raises(ConfigurationError, match=r"\(more than 1,499\)"):
        fanout.plan_map(dataclasses.replace(MAPPED, max_children=1_499), list(range(1_500)),
                        None)
    # --max-children also lowers the confirmation threshold.
    with pytest.raises(ConfigurationError, match=r"\(more than 5\)"):
        fanout.plan_map(dataclasses.replace(MAPPED, max_children=5), list(range(6)), None)


# --- each item's own cell ------------------------------------------------------------------------


@pytest.fixture()
def prepared(tmp_path: Path) -> PreparedRun:
    return prepare("x = 1\n", RunOptions(), Settings(bucket="bkt", output_dir=str(tmp_path)),
                   namespace={}, cwd=tmp_path, region="us-east-1")


def test_a_cell_that_uses_item_or_index_is_rendered_once_per_item(
        prepared: PreparedRun) -> None:
    source = "value = {{ item }} * 10\nposition = {{ index }}\n"
    assert fanout.render_items(source, prepared, [1, 2], {}) == [
        "value = 1 * 10\nposition = 0\n", "value = 2 * 10\nposition = 1\n"]
    # A retry of some items keeps their original positions.
    assert fanout.render_items("i = {{ index }}\n", prepared, ["a", "b"], {}, [4, 7]) == [
        "i = 4\n", "i = 7\n"]
    assert fanout.render_items("w = '{{ workingDir }}'\n", prepared, [1], {}) is None
    assert fanout.render_items("{% for %}\n", prepared, [1], {}) is None  # reported earlier


def test_an_item_that_renders_bad_python_is_refused(prepared: PreparedRun) -> None:
    with pytest.raises(ConfigurationError, match="SyntaxError in the cell at line 1"):
        fanout.render_items("value = {{ item }}\n", prepared, [1, "1 +"], {})


def test_no_template_means_no_per_item_rendering(prepared: PreparedRun) -> None:
    plain = prepared.with_settings(dataclasses.replace(prepared.settings, template=False))
    assert fanout.render_items("value = {{ item }}\n", plain, [1, 2], {}) is None


def test_the_items_travel_in_one_blob_beside_the_runs_files(prepared: PreparedRun) -> None:
    plan = fanout.plan_map(MAPPED, [1, {"a": 2}], ["s0", "s1"])
    with_blob = fanout.with_map_blob(prepared, plan)
    assert set(with_blob.blobs) == set(prepared.blobs) | {".batchmagic/map.pkl"}
    # Protocol 4: a child on any Python 3 image reads it.
    assert with_blob.blobs[".batchmagic/map.pkl"][:2] == b"\x80\x04"
    assert pickle.loads(with_blob.blobs[".batchmagic/map.pkl"]) == {
        "items": [1, {"a": 2}], "sources": ["s0", "s1"]}


# --- what the job is told ------------------------------------------------------------------------


def test_each_child_learns_its_item_name_the_child_count_and_the_output_patterns() -> None:
    plan = fanout.plan_map(dataclasses.replace(MAPPED, max_parallel=2), [1, 2, 3], None)
    assert fanout.map_environment(plan, ["*.csv", "plots/*"]) == {
        "BATCHMAGIC_MAP_AS": "p",
        "BATCHMAGIC_MAP_CHILDREN": "2",
        "BATCHMAGIC_MAP_OUTPUTS": json.dumps(["*.csv", "plots/*"]),
    }


def test_an_array_job_for_two_or_more_children_a_plain_job_for_one() -> None:
    payload = {"jobName": "cell", "jobQueue": "q"}
    two = fanout.apply_to_payload(payload, fanout.plan_map(MAPPED, [1, 2], None))
    assert two == {**payload, "arrayProperties": {"size": 2}}
    one = fanout.apply_to_payload(payload, fanout.plan_map(MAPPED, [1], None))
    assert one == payload
    retried = fanout.apply_to_payload(payload, fanout.plan_map(
        dataclasses.replace(MAPPED, retries=2), [1, 2], None))
    assert retried["retryStrategy"]["attempts"] == 3
    assert payload == {"jobName": "cell", "jobQueue": "q"}  # the caller's payload is kept


def test_retries_retry_infrastructure_failures_only() -> None:
    retried = fanout.with_retries({"jobName": "cell"}, 2)
    strategy = retried["retryStrategy"]
    assert strategy["attempts"] == 3
    conditions = strategy["evaluateOnExit"]
    assert conditions[-1] == {"onReason": "*", "action": "EXIT"}  # the cell's own failure
    assert all(c["action"] == "RETRY" for c in conditions[:-1])
    assert len(conditions) <= 5  # Batch's limit
    assert fanout.with_retries({"jobName": "cell"}, 0) == {"jobName": "cell"}

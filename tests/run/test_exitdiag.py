"""The one-line diagnoses of a cell process that ended badly: killed (exit 137), ended before
its results were saved, or a pulled value whose class lives only in the cell."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from batchmagic.ledger import RunRecord
from batchmagic.run.exitdiag import (
    cell_class_message,
    collected_before,
    container_memory,
    ended_early_message,
    killed_message,
)

WHERE = "job cell-1 (4f2e)"


def _described(**memory: str) -> dict[str, Any]:
    """A DescribeJobs element of a multi-container job: MEMORY (MiB) per container name."""
    containers = [{"name": name.replace("_", "-"),
                   "resourceRequirements": [{"type": "VCPU", "value": "0.25"},
                                            {"type": "MEMORY", "value": value}]}
                  for name, value in memory.items()]
    return {"ecsProperties": {"taskProperties": [{"containers": containers}]}}


def test_container_memory_reads_one_container_or_sums_the_task() -> None:
    raw = _described(stage_in="512", main="2048", stage_out="512")
    assert container_memory(raw, "main") == 2048
    assert container_memory(raw, "stage-in") == 512
    assert container_memory(raw) == 3072
    assert container_memory(raw, "elsewhere") is None
    assert container_memory(_described(main="1024.0")) == 1024  # strings, maybe with a decimal


@pytest.mark.parametrize("raw", [{}, {"ecsProperties": None}, {"ecsProperties": {}},
                                 {"ecsProperties": {"taskProperties": []}},
                                 {"ecsProperties": {"taskProperties": [{}]}},
                                 {"ecsProperties": {"taskProperties": [
                                     {"containers": [{"name": "main"}]}]}}])
def test_container_memory_is_none_when_the_description_has_none(raw: dict[str, Any]) -> None:
    assert container_memory(raw) is None
    assert container_memory(raw, "main") is None


def test_exit_137_names_the_memory_of_main_and_doubles_the_task() -> None:
    raw = _described(stage_in="512", main="2048", stage_out="512")
    assert killed_message(137, raw, WHERE) == (
        "main was killed (SIGKILL; out of memory at 2048 MiB?) — try --memory 6144; "
        "job cell-1 (4f2e)")


def test_exit_137_without_sizes_still_suggests_more_memory() -> None:
    assert killed_message(137, {}, WHERE) == (
        "main was killed (SIGKILL; out of memory?) — try a bigger --memory; job cell-1 (4f2e)")
    # Only the sidecars' sizes known: no "at" for main, the advice from the task's total.
    assert killed_message(137, _described(stage_in="256", stage_out="256"), WHERE) == (
        "main was killed (SIGKILL; out of memory?) — try --memory 1024; job cell-1 (4f2e)")


@pytest.mark.parametrize("code", [None, 0, 1, 136, 138, 143, -9])
def test_other_exit_codes_are_not_called_a_kill(code: int | None) -> None:
    assert killed_message(code, _described(main="2048"), WHERE) is None


def test_a_process_that_ended_itself_is_told_apart_from_a_lost_result() -> None:
    assert ended_early_message(WHERE) == (
        "the cell ended the process before batchmagic could save its results (os._exit?); "
        "outputs written before that were still copied back; job cell-1 (4f2e)")


def test_a_class_defined_in_the_cell_is_named_with_the_fix() -> None:
    error = AttributeError("Can't get attribute 'Point' on <module '__main__' (built-in)>")
    assert cell_class_message(error) == (
        "--pull: a value is a Point, a class defined in the cell, which the kernel cannot "
        "rebuild; run the definition of Point in the kernel too (or import it from a module), "
        "or pull plain data (dicts, lists, arrays, DataFrames)")


@pytest.mark.parametrize("message", [
    "Can't get attribute 'Point' on <module 'geometry' from '/x/geometry.py'>",
    "No module named 'geometry'", ""])
def test_other_unpickling_errors_are_not_blamed_on_the_cell(message: str) -> None:
    assert cell_class_message(AttributeError(message)) is None


@pytest.fixture()
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_an_attach_to_a_collected_run_says_when_and_where_its_outputs_went(utc: None) -> None:
    record = RunRecord(job_id="4f2e", job_name="cell-1", region="us-east-1", bucket="b",
                       run_prefix="p/", output_dir="/home/me/out", ended_at=1_764_000_000.0,
                       status="SUCCEEDED")
    assert collected_before(record) == (
        "already collected on 2025-11-24 16:00 (SUCCEEDED): its output files went to "
        "/home/me/out and its pulled variables were bound then; the S3 prefix is deleted "
        "after a run unless --keep")

"""Diagnoses that point the right way: a cell that ends its own process, a main container
killed with SIGKILL, a pulled object whose class only the cell knew."""

from __future__ import annotations

import time
from typing import Any

import pytest

from batchmagic import JobFailedError


def test_os_exit_in_the_cell_says_so(ip: Any) -> None:
    with pytest.raises(JobFailedError) as caught:
        ip.run_cell_magic("aws_batch", "--local", "import os\nprint('bye')\nos._exit(0)")
    assert str(caught.value).startswith(
        "the cell ended the process before batchmagic could save its results (os._exit?)")
    assert "already collected" not in str(caught.value)


def test_a_killed_main_names_the_memory_and_a_bigger_size(ip: Any) -> None:
    cell = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
    with pytest.raises(JobFailedError) as caught:
        ip.run_cell_magic("aws_batch", "--local --cpu 1 --memory 2048", cell)
    message = str(caught.value)
    assert message.startswith("main was killed (SIGKILL; out of memory at "), message
    assert " MiB?) — try --memory 4096; job " in message
    assert caught.value.run.exit_code == 137


def test_pulling_an_object_of_a_class_defined_in_the_cell_says_how_to_fix_it(ip: Any) -> None:
    cell = "class Point:\n    pass\np = Point()"
    ip.user_ns.pop("Point", None)
    with pytest.raises(JobFailedError) as caught:
        ip.run_cell_magic("aws_batch", "--local --pull p", cell)
    assert str(caught.value) == (
        "--pull: a value is a Point, a class defined in the cell, which the kernel cannot "
        "rebuild; run the definition of Point in the kernel too (or import it from a module), "
        "or pull plain data (dicts, lists, arrays, DataFrames)")


def test_attaching_to_a_run_already_collected_shows_its_record(ip: Any) -> None:
    first = ip.run_cell_magic("aws_batch", "--local", "print('once')")  # collected, prefix gone
    again = ip.run_line_magic("aws_batch_attach", first.job_id)
    assert again.error is None
    assert again.status == "SUCCEEDED"
    notes = [w for w in again.warnings if w.startswith("already collected on ")]
    assert len(notes) == 1 and "(SUCCEEDED)" in notes[0], again.warnings


def test_attaching_later_to_a_collected_run_keeps_what_it_was(ip: Any) -> None:
    """Its files came back then: no "matched no file" warning; its duration and timeline are
    the run's own, not the time until the attach, and the ledger keeps its record."""
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    first = ip.run_cell_magic("aws_batch", "--local --outputs done.txt",
                              "open('done.txt', 'w').write('x')")
    recorded = magics.ledger.find(first.job_id)
    time.sleep(3)  # the user attaches a while later
    again = ip.run_line_magic("aws_batch_attach", first.job_id)
    assert again.error is None
    assert [w for w in again.warnings if "matched no file" in w] == [], again.warnings
    assert again.duration == pytest.approx(first.duration, abs=0.01)
    assert again.timeline.as_dict() == pytest.approx(first.timeline.as_dict(), abs=0.01)
    kept = magics.ledger.find(first.job_id)
    assert (kept.ended_at, kept.duration) == (recorded.ended_at, recorded.duration)

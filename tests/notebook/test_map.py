"""``%%aws_batch --map``: one cell over many items as one array job, on the local emulator."""

from __future__ import annotations

import _thread
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from batchmagic.aws.clients import AwsClients
from batchmagic.errors import ConfigurationError
from batchmagic.run.mapresults import MapFailure
from batchmagic.run.maprun import MapFailedError, MapRun
from tests.helpers import job_count, object_count

SWEEP = """
import json
print("item", p, "of index {{ index }}")
if p in bad:
    raise ValueError(f"bad item {p}")
square = p * p
json.dump({"p": p, "index": {{ index }}}, open("result.json", "w"))
"""


def _calls(clients: AwsClients) -> dict[str, int]:
    """Count the Batch and Logs operations made through ``clients`` (botocore's own events)."""
    counts: dict[str, int] = {}

    def count(model: Any, **_: Any) -> None:
        counts[model.name] = counts.get(model.name, 0) + 1

    for client in (clients.batch, clients.logs):
        client.meta.events.register("before-call.*.*", count)
    return counts


def test_a_sweep_collects_failures_keeps_successes_and_retries_them(ip: Any,
                                                                   tmp_path: Path) -> None:
    ip.user_ns.update(params=[1, 2, 3, 4, 5], bad={3})
    ip.run_cell_magic(
        "aws_batch",
        "--map params --as p --push bad --pull square --outputs result.json "
        "--on-error collect --result sweep",
        SWEEP,
    )
    sweep: MapRun = ip.user_ns["sweep"]
    assert sweep.status == "SUCCEEDED"
    assert len(sweep.children) == 5 and sweep.children[2].job_id == f"{sweep.job_id}:2"
    assert sweep.results[:2] == [1, 4] and sweep.results[3:] == [16, 25]
    failure = sweep.results[2]
    assert isinstance(failure, MapFailure) and not failure
    assert sweep.failed == {2: "ValueError: bad item 3"}
    # The pulled name is bound to the values in input order.
    assert ip.user_ns["square"][:2] == [1, 4] and not ip.user_ns["square"][2]
    # Every item wrote result.json: each lands in its own OUTPUT_DIR/<index>/.
    assert sweep.files[0] == [tmp_path / "0" / "result.json"]
    assert json.loads((tmp_path / "4" / "result.json").read_text()) == {"p": 5, "index": 4}
    assert sweep.files[2] == []
    assert "ValueError: bad item 3" in "\n".join(sweep.children[2].logs)
    assert "item 3 of index 2" in sweep.children[2].log_text()
    assert not any(line.startswith("::{") for line in sweep.children[2].logs)

    ip.user_ns["bad"] = set()  # the fix
    retry = sweep.retry_failed()
    assert retry.job_id != sweep.job_id and retry.plan.count == 1
    assert sweep.results == [1, 4, 9, 16, 25] and sweep.failed == {}
    assert ip.user_ns["square"] == [1, 4, 9, 16, 25]  # the kernel's list holds the retry too
    assert json.loads((tmp_path / "2" / "result.json").read_text()) == {"p": 3, "index": 2}


def test_on_error_raise_reports_after_all_children_and_keeps_the_successes(ip: Any) -> None:
    ip.user_ns.update(values=[10, 20, 30], bad={20})
    with pytest.raises(MapFailedError) as raised:
        ip.run_cell_magic("aws_batch", "--map values --as p --push bad --pull square", SWEEP)
    message = str(raised.value)
    assert "1 of 3 items failed" in message and "item 1: ValueError: bad item 20" in message
    run = raised.value.run
    assert isinstance(run, MapRun) and run.results[0] == 100 and run.results[2] == 900


def test_min_success_raises_only_below_the_share(ip: Any) -> None:
    ip.user_ns.update(values=[1, 2, 3, 4], bad={4})
    run = ip.run_cell_magic("aws_batch", "--map values --as p --push bad --min-success 0.75",
                            SWEEP)
    assert run.succeeded == 3 and run.error is None
    with pytest.raises(MapFailedError, match="needed 90%"):
        ip.run_cell_magic("aws_batch", "--map values --as p --push bad --min-success 0.9", SWEEP)


def test_max_parallel_shares_items_between_fewer_children(ip: Any, tmp_path: Path) -> None:
    ip.user_ns["words"] = ["a", "b", "c", "d", "e"]
    cell = 'out = "{{ item }}-{{ index }}-" + w\nopen(f"w_{w}.txt", "w").write(out)'
    run = ip.run_cell_magic("aws_batch", "--map words --as w --max-parallel 2 --pull out "
                            '--outputs "w_*.txt" --result r', cell)
    assert run.plan.children == 2 and len(run.children) == 2
    assert list(run.children[1].items) == [1, 3]
    assert run.results == ["a-0-a", "b-1-b", "c-2-c", "d-3-d", "e-4-e"]
    # The names are unique per item: the files land straight in the output dir.
    assert (tmp_path / "w_c.txt").read_text() == "c-2-c"
    assert run.files[2] == [tmp_path / "w_c.txt"]


def test_status_is_followed_through_the_parent_not_per_child(ip: Any,
                                                            local_clients: AwsClients) -> None:
    ip.user_ns["seeds"] = list(range(12))
    run = ip.run_cell_magic("aws_batch", "--map seeds --as s --no-wait --pull s", "import time")
    calls = _calls(run.clients)
    run.wait()
    assert run.results == list(range(12))
    # One DescribeJobs of the parent per poll; children are listed only when counts change,
    # and no child's logs are read when nothing failed.
    assert calls.get("DescribeJobs", 0) <= 40
    assert calls.get("GetLogEvents", 0) == 0


def test_a_single_item_runs_as_a_plain_job(ip: Any) -> None:
    ip.user_ns["one"] = [7]
    run = ip.run_cell_magic("aws_batch", "--map one --as n --pull m", "m = n + 1")
    assert run.plan.children == 1 and ":" not in run.children[0].job_id
    assert run.results == [8]


def test_attach_gathers_a_map_run_again(ip: Any, tmp_path: Path) -> None:
    ip.user_ns["xs"] = [1, 2]
    run = ip.run_cell_magic("aws_batch", "--map xs --as x --pull y --keep --no-wait", "y = -x")
    run.wait()
    again = ip.run_line_magic("aws_batch_attach", run.job_id)
    assert isinstance(again, MapRun) and again.results == [-1, -2]


def test_dry_run_shows_the_array_and_retry_strategy(ip: Any, capsys: pytest.CaptureFixture[str],
                                                   local_clients: AwsClients) -> None:
    ip.user_ns["xs"] = list(range(3))
    jobs = job_count(local_clients)
    ip.run_cell_magic("aws_batch", "--map xs --as x --retries 2 --dry-run", "print(x)")
    out = capsys.readouterr().out
    assert "3 items on 3 children; arrayProperties: {'size': 3}" in out
    assert "'attempts': 3" in out and "CannotPullContainerError*" in out
    assert job_count(local_clients) == jobs


BAD_MAPS: list[tuple[str, dict[str, Any], str]] = [
    ("--map number --as n", {"number": 5}, "--map number: an int is not iterable"),
    ("--map text --as n", {"text": "abc"}, "--map text: is a str"),
    ("--map empty --as n", {"empty": []}, "--map empty is empty"),
    ("--map missing --as n", {}, "--map missing: not defined in the kernel"),
    ("--map locks --as n", {"locks": [1, __import__("threading").Lock()]},
     "item 1 cannot be pickled"),
    ("--map xs --as xs2 --push xs2", {"xs": [1, 2], "xs2": 1}, "--as xs2 is also a --push name"),
    ("--map xs", {"xs": [1, 2]}, "needs --as ITEM_NAME"),
    ("--as n", {}, "--as only applies to --map"),
    ("--map xs --as n --max-parallel 0", {"xs": [1, 2]}, "--max-parallel 0: at least 1"),
    ("--map many --as n", {"many": list(range(10_001))}, "at most 10,000 children"),
    ("--map lots --as n", {"lots": list(range(101))}, "--max-children 101"),
    ("--map xs --as n --min-success 1.5", {"xs": [1, 2]}, "--min-success 1.5"),
    ("--map xs --as n --retries 10", {"xs": [1, 2]}, "--retries 10: use 0-9"),
    ("--map xs --as 1n", {"xs": [1, 2]}, "--as '1n': not a valid Python variable name"),
]


@pytest.mark.parametrize(("line", "values", "message"), BAD_MAPS,
                         ids=[b[2][:30] for b in BAD_MAPS])
def test_bad_map_input_is_one_clear_line_before_anything_is_sent(
        ip: Any, local_clients: AwsClients, line: str, values: dict[str, Any],
        message: str) -> None:
    ip.user_ns.update(values)
    jobs, objects = job_count(local_clients), object_count(local_clients)
    with pytest.raises(ConfigurationError) as raised:
        ip.run_cell_magic("aws_batch", line, "print(1)")
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert (job_count(local_clients), object_count(local_clients)) == (jobs, objects)


def test_more_than_100_children_are_accepted_when_confirmed(
        ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.user_ns["lots"] = list(range(101))
    ip.run_cell_magic("aws_batch", "--map lots --as n --max-children 101 --dry-run", "print(n)")
    assert "101 items on 101 children; arrayProperties: {'size': 101}" in capsys.readouterr().out


def test_ctrl_c_while_waiting_terminates_every_child(
        ip: Any, local_clients: AwsClients, capsys: pytest.CaptureFixture[str]) -> None:
    ip.user_ns["naps"] = [60, 60, 60]
    run = ip.run_cell_magic("aws_batch", "--map naps --as s --no-wait --on-error collect",
                            "import time\nprint('napping', flush=True)\ntime.sleep(s)")
    deadline = time.monotonic() + 60
    while not run.counts.get("RUNNING") and time.monotonic() < deadline:
        time.sleep(0.2)
    threading.Timer(0.5, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt) as caught:
        run.wait()
    shown = caught.value._render_traceback_()  # type: ignore[attr-defined]
    assert shown == [f"KeyboardInterrupt: array job {run.job_name} ({run.job_id}) terminated, "
                     f"all its children; %aws_batch_attach {run.job_id} gathers what finished"]
    run._done.wait(60)
    assert run.status == "FAILED"
    children = local_clients.batch.list_jobs(arrayJobId=run.job_id,
                                             jobStatus="FAILED")["jobSummaryList"]
    assert len(children) == 3
    assert all("Interrupted" in (c.get("statusReason") or "") for c in children)
    assert len(run.failed) == 3
    # They ran (and printed) before they were stopped: not "never ran".
    assert all(why.startswith("did not finish: ") for why in run.failed.values()), run.failed
    # The summary says it was interrupted: no failure report, no child's last lines.
    run._display.flush()
    shown_out = capsys.readouterr().out
    assert "[batchmagic] interrupted: 0 of 3 items succeeded on 3 children" in shown_out
    assert "run the unfinished items with run.retry_failed()" in shown_out
    assert "error:" not in shown_out and "last lines:" not in shown_out


def test_a_sweep_states_its_cost_bound_before_submit_and_its_cost_after(
        ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.user_ns["xs"] = [1, 2, 3]
    run = ip.run_cell_magic("aws_batch", "--map xs --as x --timeout 600", "y = x")
    err = capsys.readouterr().err
    assert "3 children of 1 vCPU / 2048 MiB: ≈ $" in err and "at most ≈ $" in err
    # Each child is billed at least a minute: 3 child-minutes of 1 vCPU and 2 GB.
    assert run.cost_usd is not None and run.cost_usd >= 3 * (0.04048 + 2 * 0.004445) / 60


def test_a_sweeps_upload_reports_how_it_went(ip: Any, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # The meter reports from the first byte instead of after a second (a small upload here).
    monkeypatch.setattr("batchmagic.aws.progress.PROGRESS_DELAY", 0.0)
    ip.user_ns["xs"] = [1, 2]
    ip.run_cell_magic("aws_batch", "--map xs --as x", "y = x")
    err = capsys.readouterr().err
    assert any(line.startswith("batchmagic: upload ") and " files in " in line
               for line in err.splitlines()), err

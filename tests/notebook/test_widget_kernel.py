"""The widget in a real ipykernel (jupyter_client): a run is shown once, and what a chatty cell
costs on the wire (iopub) grows with the lines shown, not with the square of the log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.notebook.test_kernel import Kernel, _ok


@pytest.fixture()
def kernel(tmp_path: Path) -> Iterator[Kernel]:
    running = Kernel(tmp_path)
    _ok(running.execute("%load_ext batchmagic"))
    yield running
    running.shutdown()


def _messages(kernel: Kernel, code: str, timeout: float = 120) -> list[dict[str, Any]]:
    """Every iopub message of one execution, up to its idle status."""
    msg_id = kernel.client.execute(code)
    messages = []
    while True:
        message = kernel.client.get_iopub_msg(timeout=timeout)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(message)
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return messages


def _kinds(messages: list[dict[str, Any]]) -> list[str]:
    return [m["msg_type"] for m in messages if m["msg_type"] != "status"]


def test_a_run_is_shown_once_not_again_as_out(kernel: Kernel) -> None:
    cell = _messages(kernel, "%%aws_batch --local --result r\nprint('hello')")
    assert "execute_result" not in _kinds(cell), _kinds(cell)
    shown = [m for m in cell if m["msg_type"] == "display_data"]
    assert len(shown) == 1
    assert "application/vnd.jupyter.widget-view+json" in shown[0]["content"]["data"]
    again = _messages(kernel, "r")
    assert _kinds(again).count("display_data") == 1 and "execute_result" not in _kinds(again)


def _wire_bytes(messages: list[dict[str, Any]]) -> int:
    return sum(len(json.dumps(m["content"])) + len(json.dumps(m["metadata"])) for m in messages)


def test_a_chatty_cell_costs_less_on_the_wire_than_its_log(kernel: Kernel) -> None:
    lines, width = 20_000, 50
    cell = ("%%aws_batch --local --log-tail 100 --result r\n"
            f"for i in range({lines}):\n    print(f'line {{i:06d}} ' + 'x' * {width - 12})")
    messages = _messages(kernel, cell)
    log_bytes = lines * width
    # Line by line, the old widget re-sent its whole log on every append (~100 MB here).
    assert _wire_bytes(messages) < log_bytes / 2, _wire_bytes(messages)
    assert kernel.value("len(r.logs)") == str(lines)
    assert kernel.value("r.logs[-1][:11]") == "line 019999"
    saved = [m["content"]["data"]["text/plain"] for m in messages
             if m["msg_type"] == "update_display_data"][-1]
    assert "19,900 earlier lines not saved here" in saved
    assert "line 019899" not in saved and "line 019900" in saved and "line 019999" in saved


def test_text_in_a_kernel_stops_at_the_transcript_size_and_says_so(kernel: Kernel) -> None:
    kernel.execute('%config AwsBatchMagics.display_mode = "text"')
    messages = _messages(kernel, "%%aws_batch --local --result r\nfor i in range(10_000):\n"
                                 "    print(f'line {i:06d} ' + 'x' * 38)")
    printed = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
    assert len(printed) < 210_000, len(printed)  # the log is 500 KB
    assert "more log lines not shown here; all of them: run.logs" in printed
    assert "line 000000" in printed and kernel.value("len(r.logs)") == "10000"

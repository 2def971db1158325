"""The widget in a real ipykernel (jupyter_client): a run is shown once, and what a chatty cell
costs on the wire (iopub) grows with the lines shown, not with the square of the log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.notebook.test_kernel import Kernel


@pytest.fixture()
def kernel(tmp_path: Path) -> Iterator[Kernel]:
    running = Kernel(tmp_path)
    running.execute("%load_ext batchmagic")
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

"""The widget in a real ipykernel: the staging bar is in the header before the upload, and the run
ends with its timeline (a chart in the widget, a line in the saved text)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.notebook.test_kernel import Kernel
from tests.notebook.test_widget_kernel import _messages


@pytest.fixture()
def kernel(tmp_path: Path) -> Iterator[Kernel]:
    running = Kernel(tmp_path)
    running.execute("%load_ext batchmagic")
    # Show the bar from the first byte (it normally waits a second), so a small input shows it.
    running.execute("import batchmagic.aws.progress\nbatchmagic.aws.progress.PROGRESS_DELAY = 0")
    yield running
    running.shutdown()


def _model_ids(messages: list[dict[str, Any]], model: str) -> set[str]:
    return {m["content"]["comm_id"] for m in messages if m["msg_type"] == "comm_open"
            and m["content"]["data"]["state"].get("_model_name") == model}


def _updates(messages: list[dict[str, Any]], comm_ids: set[str]) -> list[tuple[int, Any]]:
    return [(index, m["content"]["data"]["state"]) for index, m in enumerate(messages)
            if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] in comm_ids
            and m["content"]["data"].get("method") == "update"]


def test_the_bar_shows_during_the_upload_and_the_chart_at_the_end(
    kernel: Kernel, tmp_path: Path
) -> None:
    (tmp_path / "data.bin").write_bytes(b"x" * 3_000_000)
    messages = _messages(kernel, "%%aws_batch --local --inputs data.bin\nprint(len(open("
                                 "'data.bin', 'rb').read()))")
    shown = next(i for i, m in enumerate(messages) if m["msg_type"] == "display_data")
    bars = _updates(messages, _model_ids(messages, "FloatProgressModel"))
    values = [state["value"] for _, state in bars if "value" in state]
    assert values and values == sorted(values) and values[-1] == 1.0, bars
    assert all(index > shown for index, _ in bars)  # the widget was there before the first byte
    html = _updates(messages, _model_ids(messages, "HTMLModel"))
    headers = [i for i, state in html if "<code>" in str(state.get("value", ""))]
    # The upload's bar moved before the job's header appeared (the header comes after submit).
    assert min(i for i, state in bars if "value" in state) < min(headers)
    assert any("batchmagic-timeline" in str(state.get("value", "")) for _, state in html)
    saved = [m["content"]["data"]["text/plain"] for m in messages
             if m["msg_type"] == "update_display_data"][-1]
    assert "[batchmagic] upload " in saved and " files in " in saved
    assert "[batchmagic] time: " in saved and " · main " in saved

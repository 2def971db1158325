"""%%aws_batch --local in a real JupyterLab, driven by headless Chromium through Playwright.

The test starts its own JupyterLab (own token, port, root, config, data and runtime
directories; a ``python3`` kernelspec pointing at this interpreter), opens a notebook it wrote,
runs a slow cell on the local emulator and checks what a user sees: log lines arriving in the
widget while the job runs, and the Cancel button stopping the job (badge FAILED, the cell's
process gone, Batch reporting FAILED).

Needs Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from batchmagic.aws.clients import AwsClients
from batchmagic.run.target import local_target
from tests.browser.lab import (
    Lab,
    LabError,
    chromium,
    open_notebook,
    run_cell,
    running_lab,
    write_notebook,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
NOTEBOOK = "batch.ipynb"
SLOW_CELL = """%%aws_batch --local
import os, time
print(f"PID={os.getpid()}", flush=True)
for i in range(60):
    print(f"line {i}", flush=True)
    time.sleep(0.5)
"""


@pytest.fixture()
def lab(tmp_path: Path) -> Iterator[Lab]:
    try:
        with running_lab(tmp_path) as running:
            yield running
    except LabError as error:
        pytest.fail(str(error))


@pytest.fixture()
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        try:
            with chromium(playwright) as instance:
                yield instance
        except LabError as error:
            pytest.fail(str(error))


def _process_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_widget_streams_logs_and_cancel_stops_the_job(lab: Lab, browser: Browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(lab.root / NOTEBOOK, ["%load_ext batchmagic", SLOW_CELL])
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    try:
        cells = open_notebook(page, lab, NOTEBOOK, 2)

        # 1. %load_ext batchmagic (the first execution waits for the kernel to start)
        load_cell, batch_cell = cells.nth(0), cells.nth(1)
        run_cell(page, load_cell)
        expect(load_cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[1\]"),
                                                                  timeout=45_000)

        # 2. the slow cell on the local emulator
        run_cell(page, batch_cell)
        widget = batch_cell.locator(".jp-OutputArea-output .widget-vbox").first
        expect(widget).to_be_visible(timeout=30_000)
        header = widget.locator(".widget-html").first
        cancel = widget.get_by_role("button", name="Cancel")
        titles = widget.locator(".jupyter-widget-Collapse-header")
        expect(titles).to_have_text(["stage-in", "main", "stage-out"])
        main_pane = widget.locator(".jupyter-widget-Collapse-contents").nth(1)

        # 3. log lines arrive while the job runs
        expect(main_pane).to_contain_text("line 3", timeout=40_000)
        expect(header).to_contain_text("RUNNING", timeout=1_000)
        pane_text = main_pane.inner_text()
        assert "line 50" not in pane_text, f"lines only showed near the job's end:\n{pane_text}"
        job_id = header.locator("code").inner_text().strip()
        pid_match = re.search(r"PID=(\d+)", pane_text)
        assert pid_match, f"no PID line in the main pane:\n{pane_text}"
        pid = int(pid_match.group(1))
        assert not _process_gone(pid, 0.1), f"the cell's process {pid} is not running"

        # 4. what the user sees
        screenshot = ARTIFACTS / "jupyterlab-widget-running.png"
        page.screenshot(path=str(screenshot))
        batch_cell.screenshot(path=str(ARTIFACTS / "jupyterlab-widget-running-cell.png"))
        expect(cancel).to_be_visible()
        expect(cancel).to_be_enabled()

        # 5. Cancel stops the job
        cancel.click()
        expect(header).to_contain_text("FAILED", timeout=20_000)
        assert "line 59" not in main_pane.inner_text(), "the job ran to its end despite Cancel"
        assert _process_gone(pid, 10), f"the cell's process {pid} is still alive after Cancel"
        job = AwsClients(local_target()).batch.describe_jobs(jobs=[job_id])["jobs"][0]
        assert job["status"] == "FAILED", job
        assert "widget" in job.get("statusReason", ""), job.get("statusReason")
        expect(cancel).to_be_hidden(timeout=10_000)
        batch_cell.screenshot(path=str(ARTIFACTS / "jupyterlab-widget-cancelled-cell.png"))
        widget_errors = [line for line in console
                         if line.startswith("error:") and "widget" in line.lower()]
        assert not widget_errors, widget_errors
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-failure.png"))
        print("--- JupyterLab log ---\n" + lab.log_tail())
        print("--- browser console ---\n" + "\n".join(console[-50:]))
        raise


CHATTY_LINES = 20_000
CHATTY_CELL = f"""%%aws_batch --local --log-tail 200
for i in range({CHATTY_LINES}):
    print(f"line {{i:06d}} " + "x" * 38)
"""
PROGRESS_CELL = """%%aws_batch --local
import sys, time
for step in range(31):
    sys.stderr.write(f"\\rtraining {step:3d}%|" + "#" * step)
    time.sleep(0.1)
sys.stderr.write("\\n")
"""


def test_a_chatty_cell_shows_a_bounded_tail_and_a_progress_bar_updates_in_place(
        lab: Lab, browser: Browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    write_notebook(lab.root / "chatty.ipynb", ["%load_ext batchmagic", CHATTY_CELL, PROGRESS_CELL])
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)
    received: list[int] = []
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda payload: received.append(len(payload))))
    try:
        cells = open_notebook(page, lab, "chatty.ipynb", 3)
        run_cell(page, cells.nth(0))
        expect(cells.nth(0).locator(".jp-InputPrompt")).to_have_text("[1]:", timeout=45_000)

        before = sum(received)
        run_cell(page, cells.nth(1))
        expect(cells.nth(1).locator(".jp-InputPrompt")).to_have_text("[2]:", timeout=120_000)
        pane = cells.nth(1).locator(".jupyter-widget-Collapse-contents").nth(1)
        expect(pane).to_contain_text(f"line {CHATTY_LINES - 1:06d}")
        text = pane.inner_text()
        shown = re.findall(r"^line \d{6}", text, flags=re.MULTILINE)
        assert len(shown) == 200, len(shown)  # the tail, and nothing before it
        assert f"{CHATTY_LINES - 200:,} earlier lines of {CHATTY_LINES:,} not shown" in text
        assert "run.logs" in text and "%aws_batch_logs" in text
        # Appending line by line re-sent the whole log each time: hundreds of MB here.
        assert sum(received) - before < CHATTY_LINES * 50, sum(received) - before

        run_cell(page, cells.nth(2))
        prompt = cells.nth(2).locator(".jp-InputPrompt")
        bar = cells.nth(2).locator(".jupyter-widget-Collapse-contents").nth(1)
        seen: set[str] = set()
        deadline = time.monotonic() + 120
        while prompt.inner_text() != "[3]:" and time.monotonic() < deadline:
            states = re.findall(r"training +(\d+)%", bar.inner_text() if bar.count() else "")
            assert len(states) <= 1, f"the bar shows on {len(states)} lines"
            seen.update(states)
            time.sleep(0.1)
        expect(bar).to_contain_text("training  30%|" + "#" * 30)
        assert len(re.findall(r"training +\d+%", bar.inner_text())) == 1
        assert len(seen - {"0", "30"}) >= 1, seen  # states between the first and last, live
        cells.nth(2).screenshot(path=str(ARTIFACTS / "jupyterlab-progress-cell.png"))
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-chatty-failure.png"))
        print("--- JupyterLab log ---\n" + lab.log_tail())
        raise

"""%%aws_batch --local in a real JupyterLab, driven by headless Chromium through Playwright.

The test starts its own JupyterLab (own token, port, root, config, data and runtime
directories; a ``python3`` kernelspec pointing at this interpreter), opens a notebook it wrote,
runs a slow cell on the local emulator and checks what a user sees: log lines arriving in the
widget while the job runs, and the Cancel button stopping the job (badge FAILED, the cell's
process gone, Batch reporting FAILED).

Needs Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from batchmagic.aws.clients import AwsClients
from batchmagic.run.target import local_target

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOTEBOOK = "batch.ipynb"
SLOW_CELL = """%%aws_batch --local
import os, time
print(f"PID={os.getpid()}", flush=True)
for i in range(60):
    print(f"line {i}", flush=True)
    time.sleep(0.5)
"""


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    log: Path

    def page_url(self, notebook: str) -> str:
        return f"{self.url}/lab/tree/{notebook}?token={self.token}"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _api(url: str, method: str = "GET", timeout: float = 5.0) -> int:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        status: int = response.status
        return status


def _write_kernelspec(data_dir: Path) -> None:
    """A ``python3`` kernelspec for this interpreter; the user data dir wins over all others."""
    spec_dir = data_dir / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (batchmagic tests)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))


def _write_lab_settings(config_dir: Path) -> None:
    """No news toast and no kernel dialog: nothing may cover the notebook."""
    settings = config_dir / "lab" / "user-settings" / "@jupyterlab"
    for extension, name, values in (
        ("apputils-extension", "notification", {"fetchNews": "false", "checkForUpdates": False}),
        ("notebook-extension", "tracker", {"autoStartDefaultKernel": True}),
    ):
        (settings / extension).mkdir(parents=True, exist_ok=True)
        (settings / extension / f"{name}.jupyterlab-settings").write_text(json.dumps(values))


def _write_notebook(path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (batchmagic tests)",
        "language": "python",
    }
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext batchmagic"),
        nbformat.v4.new_code_cell(SLOW_CELL.rstrip("\n")),
    ]
    nbformat.write(notebook, str(path))


def _stop(process: subprocess.Popen[bytes], lab_url: str, token: str) -> None:
    """Ask the server to shut down (it stops its kernels), then make sure its group is gone."""
    if process.poll() is None:
        with contextlib.suppress(OSError, urllib.error.URLError):
            _api(f"{lab_url}/api/shutdown?token={token}", method="POST")
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture()
def lab(tmp_path: Path) -> Iterator[Lab]:
    root = tmp_path / "notebooks"
    root.mkdir()
    config_dir, data_dir, runtime_dir = (tmp_path / n for n in ("config", "data", "runtime"))
    _write_kernelspec(data_dir)
    _write_lab_settings(config_dir)
    env = dict(os.environ)  # BATCHMAGIC_STATE_DIR / BATCHMAGIC_CONFIG of this test session
    env.pop("JUPYTER_PATH", None)
    env.update(
        JUPYTER_CONFIG_DIR=str(config_dir),
        JUPYTER_DATA_DIR=str(data_dir),
        JUPYTER_RUNTIME_DIR=str(runtime_dir),
        JUPYTER_PLATFORM_DIRS="1",
        JUPYTER_PREFER_ENV_PATH="0",  # the kernelspec above, not the venv's
        PYTHONUNBUFFERED="1",
    )
    token = secrets.token_hex(16)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        f"--IdentityProvider.token={token}", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True",
        "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=root, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {process.returncode}:\n"
                            f"{log.read_text(errors='replace')[-4000:]}")
            try:
                if _api(f"{url}/api/status?token={token}", timeout=2) == 200:
                    break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer on {url} within 60 s:\n"
                            f"{log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.25)
        yield Lab(url=url, token=token, root=root, log=log)
    finally:
        _stop(process, url, token)


@pytest.fixture()
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(f"{CHROMIUM} not found: this test needs Debian's Chromium "
                    "(`apt-get install chromium`; .ci/run installs it)")
    executable = CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                              headless=True, timeout=30_000)
        try:
            yield instance
        finally:
            instance.close()


def _run_cell(page: Page, cell: Locator) -> None:
    """Shift+Enter in the cell; again if the frontend was not ready to queue it yet."""
    prompt = cell.locator(".jp-InputPrompt")
    for _attempt in range(3):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            expect(prompt).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=10_000)
            return
        except AssertionError:
            continue
    expect(prompt).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=1)


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
    _write_notebook(lab.root / NOTEBOOK)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    try:
        page.goto(lab.page_url(NOTEBOOK), wait_until="domcontentloaded", timeout=45_000)

        cells = page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell")
        expect(cells).to_have_count(2, timeout=45_000)

        # 1. %load_ext batchmagic (the first execution waits for the kernel to start)
        load_cell, batch_cell = cells.nth(0), cells.nth(1)
        kernel_idle = page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle"))
        expect(kernel_idle.first).to_be_visible(timeout=45_000)
        _run_cell(page, load_cell)
        expect(load_cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[1\]"),
                                                                  timeout=45_000)

        # 2. the slow cell on the local emulator
        _run_cell(page, batch_cell)
        widget = batch_cell.locator(".jp-OutputArea-output .widget-vbox").first
        expect(widget).to_be_visible(timeout=30_000)
        header = widget.locator(".widget-html").first
        cancel = widget.get_by_role("button", name="Cancel")
        titles = widget.locator(".jupyter-widget-Collapse-header")
        expect(titles).to_have_text(["stage-in", "main", "stage-out"])
        main_pane = widget.locator(".jupyter-widget-Collapse-contents .widget-output").nth(1)

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

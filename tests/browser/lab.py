"""A private JupyterLab and headless Chromium, for the browser tests and the browser benchmark.

``running_lab`` starts JupyterLab with its own token, port, root, config, data and runtime
directories and a ``python3`` kernelspec pointing at this interpreter; ``chromium`` launches
Debian's Chromium through Playwright; ``write_notebook`` and ``run_cell`` drive a notebook.
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
from typing import Any

import nbformat
from playwright.sync_api import Browser, Locator, Page, expect

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


class LabError(RuntimeError):
    """JupyterLab or Chromium could not be started."""


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


def write_notebook(path: Path, sources: list[str]) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (batchmagic tests)",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(source.rstrip("\n")) for source in sources]
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


@contextlib.contextmanager
def running_lab(base: Path, env: dict[str, str] | None = None) -> Iterator[Lab]:
    """JupyterLab serving ``base/notebooks``, everything of its own under ``base``."""
    root = base / "notebooks"
    root.mkdir()
    config_dir, data_dir, runtime_dir = (base / n for n in ("config", "data", "runtime"))
    _write_kernelspec(data_dir)
    _write_lab_settings(config_dir)
    env = dict(env if env is not None else os.environ)  # BATCHMAGIC_STATE_DIR / _CONFIG kept
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
    log = base / "jupyterlab.log"
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
                raise LabError(f"JupyterLab exited with {process.returncode}:\n"
                               f"{log.read_text(errors='replace')[-4000:]}")
            try:
                if _api(f"{url}/api/status?token={token}", timeout=2) == 200:
                    break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise LabError(f"JupyterLab did not answer on {url} within 60 s:\n"
                               f"{log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.25)
        yield Lab(url=url, token=token, root=root, log=log)
    finally:
        _stop(process, url, token)


@contextlib.contextmanager
def chromium(playwright: Any) -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        raise LabError(f"{CHROMIUM} not found: this needs Debian's Chromium "
                       "(`apt-get install chromium`; .ci/run installs it)")
    executable = CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))
    instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                          headless=True, timeout=30_000)
    try:
        yield instance
    finally:
        instance.close()


def open_notebook(page: Page, lab: Lab, notebook: str, cells: int) -> Locator:
    """Open a notebook, wait for its kernel; the notebook's cells."""
    page.goto(lab.page_url(notebook), wait_until="domcontentloaded", timeout=45_000)
    located = page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell")
    expect(located).to_have_count(cells, timeout=45_000)
    kernel_idle = page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle"))
    expect(kernel_idle.first).to_be_visible(timeout=45_000)
    return located


def run_cell(page: Page, cell: Locator) -> None:
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

"""The per-user background emulator: started once, outlives the kernel that started it.

Its state file (``state_dir()/emulator.json``) holds pid, url and the Python executable. Later
callers reuse that emulator when it answers ``GET /batchmagic/health`` and runs the same Python
(jobs run with the emulator's interpreter, so a different venv means a different emulator).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from batchmagic.settings import state_dir

START_TIMEOUT_S = 30.0


def state_file() -> Path:
    return state_dir() / "emulator.json"


def log_file() -> Path:
    return state_dir() / "emulator.log"


def read_state() -> dict[str, Any] | None:
    try:
        data = json.loads(state_file().read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_state(url: str, path: Path | None = None) -> None:
    """Called by the emulator process itself once it serves (atomic replace)."""
    path = path or state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"pid": os.getpid(), "url": url, "python": sys.executable}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data) + "\n")
    os.replace(tmp, path)


def clear_state(path: Path | None = None) -> None:
    """Called by the emulator process when it stops: forget the state file if it is ours."""
    path = path or state_file()
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def health(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The emulator's health document, or None when nothing (or something else) answers."""
    try:
        with urllib.request.urlopen(f"{url}/batchmagic/health", timeout=timeout) as response:
            data = json.loads(response.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("status") == "ok" else None


def _reusable(state: dict[str, Any] | None) -> str | None:
    if not state or state.get("python") != sys.executable or not state.get("url"):
        return None
    info = health(str(state["url"]))
    if info is None or info.get("python") != sys.executable:
        return None
    return str(state["url"])


def ensure_background_emulator() -> str:
    """The URL of this user's background emulator, starting one when none answers."""
    url = _reusable(read_state())
    if url:
        return url
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    # Two kernels starting at once must end up sharing one emulator.
    with open(directory / "emulator.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _reusable(read_state()) or _start()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _start() -> str:
    with contextlib.suppress(FileNotFoundError):
        state_file().unlink()
    with open(log_file(), "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "batchmagic", "emulator", "--port", "0",
             "--state-file", str(state_file())],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        state = read_state()
        if state and state.get("pid") == process.pid and health(str(state["url"]), 1.0):
            return str(state["url"])
        if process.poll() is not None:
            break
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    raise RuntimeError(f"the background emulator did not start; see {log_file()}")


def stop_background_emulator(timeout: float = 15.0) -> bool:
    """Stop this user's background emulator; False when none was running."""
    state = read_state()
    if not state or not health(str(state.get("url", ""))):
        with contextlib.suppress(FileNotFoundError):
            state_file().unlink()
        return False
    pid = int(state["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        state_file().unlink()
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still "exists"; reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True

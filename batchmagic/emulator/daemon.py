"""The per-user background emulator: started once, outlives the kernel that started it.

Its state file (``state_dir()/emulator.json``) holds pid, url, the Python executable and its
environment (``identity.py``). Later callers reuse that emulator when it answers
``GET /batchmagic/health`` and runs in the same environment (``python`` and ``python3`` of one
venv are the same). There is never more than one per state dir: a caller from another
environment stops an idle one before starting its own, and is refused while it runs jobs.
Every emulator started here also registers in ``state_dir()/emulators/`` so that ``--stop``
finds them all. A background emulator stops by itself after ``BATCHMAGIC_EMULATOR_IDLE_STOP``
seconds (default 7200) without a request and without a job.
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

from batchmagic.emulator.identity import interpreter_id
from batchmagic.settings import state_dir

START_TIMEOUT_S = 30.0
DEFAULT_IDLE_STOP_S = 7200


class EmulatorBusyError(RuntimeError):
    """The background emulator of another Python environment still runs jobs."""


def state_file() -> Path:
    return state_dir() / "emulator.json"


def log_file() -> Path:
    return state_dir() / "emulator.log"


def registry() -> Path:
    return state_dir() / "emulators"


def idle_stop_seconds() -> float:
    """``$BATCHMAGIC_EMULATOR_IDLE_STOP`` (seconds; 0 = never), else two hours."""
    try:
        return float(os.environ.get("BATCHMAGIC_EMULATOR_IDLE_STOP", DEFAULT_IDLE_STOP_S))
    except ValueError:
        return float(DEFAULT_IDLE_STOP_S)


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
    data = {"pid": os.getpid(), "url": url, "python": sys.executable,
            "environment": interpreter_id()}
    entry = path.parent / "emulators" / f"{os.getpid()}.json"
    for target in (entry, path):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data) + "\n")
        os.replace(tmp, target)


def clear_state(path: Path | None = None) -> None:
    """Called by the emulator process when it stops: forget the state file if it is ours."""
    path = path or state_file()
    with contextlib.suppress(OSError):
        (path.parent / "emulators" / f"{os.getpid()}.json").unlink()
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


def _same_environment(info: dict[str, Any]) -> bool:
    if info.get("environment"):
        return bool(info["environment"] == interpreter_id())
    return os.path.realpath(str(info.get("python", ""))) == os.path.realpath(sys.executable)


def _reusable(state: dict[str, Any] | None) -> str | None:
    if not state or not state.get("url"):
        return None
    info = health(str(state["url"]))
    if info is None or info.get("pid", state.get("pid")) != state.get("pid"):
        return None
    return str(state["url"]) if _same_environment(info) else None


def running_emulators() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(registry entry, health) of every emulator started here that still answers; entries
    of emulators that are gone are removed."""
    found = []
    entries = sorted(registry().glob("*.json")) if registry().is_dir() else []
    state = read_state()
    for path in entries:
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        info = health(str(entry.get("url", "")), 1.0)
        if info is not None and info.get("pid", entry.get("pid")) == entry.get("pid"):
            found.append((entry, info))
        elif not _alive(int(entry.get("pid", 0) or 0)):
            path.unlink(missing_ok=True)
    if state and not any(e.get("pid") == state.get("pid") for e, _ in found):
        info = health(str(state.get("url", "")), 1.0)  # started by an older batchmagic
        if info is not None:
            found.append((state, info))
    return found


def _make_room() -> None:
    """Stop the idle emulators of other environments; refuse while one runs jobs."""
    for entry, info in running_emulators():
        if _same_environment(info):
            continue
        busy = int(info.get("busy_jobs", 0) or 0)
        if busy:
            raise EmulatorBusyError(
                f"the background emulator of {entry.get('python')} (pid {entry.get('pid')}) "
                f"still runs {busy} job(s); wait for them or stop it "
                "(`batchmagic emulator --stop`), then run again")
        _stop_pid(int(entry["pid"]))


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
            url = _reusable(read_state())
            if url:
                return url
            _make_room()
            return _start()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _start() -> str:
    with contextlib.suppress(FileNotFoundError):
        state_file().unlink()
    with open(log_file(), "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "batchmagic", "emulator", "--port", "0",
             "--state-file", str(state_file()), "--idle-stop", f"{idle_stop_seconds():g}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        state = read_state()
        if state and state.get("pid") == process.pid and health(str(state["url"]), 1.0):
            return str(state["url"])
        if process.poll() is not None:
            break
        time.sleep(0.02)  # a first cell is waiting: look often (a file read and a local GET)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    raise RuntimeError(f"the background emulator did not start; see {log_file()}")


def stop_background_emulator(timeout: float = 15.0) -> int:
    """Stop every background emulator started for this state dir; how many there were."""
    stopped = 0
    for entry, _ in running_emulators():
        _stop_pid(int(entry["pid"]), timeout)
        stopped += 1
    with contextlib.suppress(FileNotFoundError):
        state_file().unlink()
    return stopped


def _stop_pid(pid: int, timeout: float = 15.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        (registry() / f"{pid}.json").unlink()


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

"""The test session's own home and state, and what removes them whatever ends the session.

The suite runs with its own ``HOME`` (IPython profile, Chromium, npm, pip and dconf state stay
out of the user's home) and its own batchmagic state dir; at the end - normally, or on SIGTERM
or SIGHUP, as CI runners and ``timeout`` send - the per-user background emulator it started is
stopped and the session directory is removed. Kept as a module of its own so a test can install
it in a child process and kill that process.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

SESSION_DIRS: list[Path] = []
PREFIX = "batchmagic-tests-"
OWNER_FILE = "owner.pid"  # the session's process, for remove_abandoned_sessions


def isolate() -> Path:
    """Point HOME, IPython and batchmagic's state at a fresh directory; return it."""
    remove_abandoned_sessions()
    session = Path(tempfile.mkdtemp(prefix=PREFIX))
    (session / OWNER_FILE).write_text(str(os.getpid()))
    home = session / "home"
    home.mkdir()
    os.environ["HOME"] = str(home)
    os.environ["IPYTHONDIR"] = str(home / ".ipython")
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        os.environ.pop(name, None)
    os.environ["BATCHMAGIC_STATE_DIR"] = str(session / "state")
    os.environ["BATCHMAGIC_CONFIG"] = str(session / "settings.json")
    SESSION_DIRS.append(session)
    # Removed at exit, after IPython's own exit handlers (registered later, run earlier) have
    # written their history into it.
    atexit.register(remove_session_dirs)
    return session


def remove_abandoned_sessions() -> None:
    """Remove the directories of earlier sessions whose process is gone: one killed with
    SIGKILL (an out-of-memory kill, a CI runner's hard stop) runs no handler at all."""
    for session in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            owner = int((session / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not one of ours, or still being made
        if not _alive(owner):
            _stop_processes_of(session)
            shutil.rmtree(session, ignore_errors=True)


def _stop_processes_of(session: Path) -> None:
    """SIGTERM to every process whose command line names the session's directory (its
    background emulator, ``--state-file …/state/emulator.json``, and what that emulator started
    and left running, such as the emulated image's venv being built under its HOME), then wait
    for them: they would write into the directory as it is removed."""
    marker = str(session).encode()
    mine = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGTERM)
                mine.append(int(entry.name))
        except (OSError, ProcessLookupError):
            continue  # gone meanwhile
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in mine) and time.monotonic() < deadline:
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    try:  # a zombie (ended, not reaped yet) is gone as far as its files are concerned
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def stop_emulator() -> None:
    """Stop the per-user background emulator this session started."""
    from batchmagic.emulator.daemon import stop_background_emulator

    stop_background_emulator()


def remove_session_dirs() -> None:
    while SESSION_DIRS:
        shutil.rmtree(SESSION_DIRS.pop(), ignore_errors=True)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    try:
        stop_emulator()
    finally:
        remove_session_dirs()
    sys.exit(128 + signum)


def install_signal_handlers() -> None:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)
    # A session started in the background (`python -m pytest &` in a script, as CI steps and
    # nohup do) inherits SIGINT ignored, and Python keeps it so: `_thread.interrupt_main()`, with
    # which the interrupt tests press Ctrl-C, would then do nothing. Python's own handler back.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)

"""The suite leaves nothing behind: a session killed with SIGTERM still stops the background
emulator it started and removes its own HOME and state directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests import session_guard

REPO = Path(__file__).resolve().parents[1]

SESSION = f"""
import sys, time
sys.path.insert(0, {str(REPO)!r})
from tests import session_guard
session = session_guard.isolate()
session_guard.install_signal_handlers()
from batchmagic.emulator.daemon import ensure_background_emulator, read_state
ensure_background_emulator()
print(session, read_state()["pid"], flush=True)
time.sleep(300)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_stops_the_sessions_emulator_and_removes_its_directories() -> None:
    process = subprocess.Popen([sys.executable, "-c", SESSION], stdout=subprocess.PIPE,
                               text=True)
    try:
        session, pid = process.stdout.readline().split() if process.stdout else ("", "0")
        assert Path(session, "home").is_dir() and _alive(int(pid))
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 128 + signal.SIGTERM
    finally:
        process.kill()
    deadline = time.monotonic() + 15
    while _alive(int(pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(int(pid)), "the background emulator outlived its session"
    assert not Path(session).exists()


def test_a_session_killed_outright_is_cleaned_up_by_the_next_one() -> None:
    # SIGKILL runs no handler: the next session removes what the dead one left.
    process = subprocess.Popen([sys.executable, "-c", SESSION], stdout=subprocess.PIPE,
                               text=True)
    try:
        session, pid = process.stdout.readline().split() if process.stdout else ("", "0")
        assert Path(session, session_guard.OWNER_FILE).read_text() == str(process.pid)
    finally:
        process.kill()
        process.wait(60)
    assert Path(session).is_dir() and _alive(int(pid))
    session_guard.remove_abandoned_sessions()
    deadline = time.monotonic() + 15
    while _alive(int(pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(session).exists()
    assert not _alive(int(pid)), "the dead session's emulator was left running"
    assert Path(os.environ["HOME"]).is_dir()  # this session's own directory stays


def test_the_session_has_a_home_of_its_own() -> None:
    home = Path(os.environ["HOME"])
    assert home.name == "home" and home.parent.name.startswith("batchmagic-tests-")
    assert os.environ["IPYTHONDIR"].startswith(str(home))


INTERRUPTED = f"""
import _thread, sys, time
sys.path.insert(0, {str(REPO)!r})
from tests import session_guard
session_guard.install_signal_handlers()
try:
    _thread.interrupt_main()
    time.sleep(5)
    print("not interrupted")
except KeyboardInterrupt:
    print("interrupted")
"""


def test_a_session_started_with_sigint_ignored_can_still_press_ctrl_c() -> None:
    # What `python -m pytest &` in a script gets: SIGINT ignored from the start.
    done = subprocess.run([sys.executable, "-c", INTERRUPTED], capture_output=True, text=True,
                          timeout=60, preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                       signal.SIG_IGN))
    assert done.stdout.strip() == "interrupted", (done.stdout, done.stderr)

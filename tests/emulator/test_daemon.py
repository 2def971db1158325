"""The per-user background emulator: start, reuse, stop; and the CLI's modes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from batchmagic.emulator import daemon


def test_background_emulator_start_reuse_stop(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHMAGIC_STATE_DIR", str(tmp_path))
    try:
        url = daemon.ensure_background_emulator()
        state = json.loads((tmp_path / "emulator.json").read_text())
        assert state["url"] == url and state["python"] == sys.executable
        with urllib.request.urlopen(url + "/batchmagic/health", timeout=5) as response:
            assert json.loads(response.read())["python"] == sys.executable
        assert daemon.ensure_background_emulator() == url  # reused, not restarted
        cli = subprocess.run([sys.executable, "-m", "batchmagic", "emulator", "--background"],
                             capture_output=True, text=True, timeout=60, check=True,
                             env={**os.environ, "BATCHMAGIC_STATE_DIR": str(tmp_path)})
        assert cli.stdout.strip() == url
    finally:
        stopped = daemon.stop_background_emulator()
    assert stopped == 1
    assert not daemon._alive(state["pid"])
    assert daemon.health(url, 0.5) is None
    assert daemon.stop_background_emulator() == 0


def test_a_stale_state_file_starts_a_new_emulator(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHMAGIC_STATE_DIR", str(tmp_path))
    (tmp_path / "emulator.json").write_text(json.dumps(
        {"pid": 999999, "url": "http://127.0.0.1:9", "python": sys.executable}))
    try:
        url = daemon.ensure_background_emulator()
        assert url != "http://127.0.0.1:9"
        assert daemon.health(url) is not None
    finally:
        assert daemon.stop_background_emulator()


def test_foreground_cli_prints_the_url_and_stops_on_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "batchmagic", "emulator", "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("batchmagic emulator at http://127.0.0.1:")
        assert "export AWS_ENDPOINT_URL=http://127.0.0.1:" in line
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0


def _other_name_of_this_interpreter() -> str:
    """``python3`` when running as ``python`` (and the other way round): one venv, two paths."""
    here = Path(sys.executable)
    for name in ("python3", "python", f"python3.{sys.version_info.minor}"):
        other = here.with_name(name)
        if other.exists() and other.name != here.name:
            return str(other)
    pytest.skip("this environment has a single name for its interpreter")


def test_python_and_python3_of_one_environment_share_one_emulator(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHMAGIC_STATE_DIR", str(tmp_path))
    other = _other_name_of_this_interpreter()
    try:
        url = daemon.ensure_background_emulator()
        again = subprocess.run([other, "-m", "batchmagic", "emulator", "--background"],
                               capture_output=True, text=True, timeout=60,
                               env={**os.environ, "BATCHMAGIC_STATE_DIR": str(tmp_path)})
        assert again.stdout.strip() == url, again.stderr
        assert len(list((tmp_path / "emulators").glob("*.json"))) == 1
    finally:
        assert daemon.stop_background_emulator() == 1


def test_stop_finds_every_emulator_it_started(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHMAGIC_STATE_DIR", str(tmp_path))
    first = daemon.ensure_background_emulator()
    first_pid = json.loads((tmp_path / "emulator.json").read_text())["pid"]
    (tmp_path / "emulator.json").unlink()  # as an older batchmagic overwrote it
    try:
        second = daemon.ensure_background_emulator()
        assert second != first
    finally:
        assert daemon.stop_background_emulator() == 2
    assert not daemon._alive(first_pid)
    assert daemon.health(first, 0.5) is None and daemon.health(second, 0.5) is None


def test_an_idle_emulator_stops_by_itself(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHMAGIC_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("BATCHMAGIC_EMULATOR_IDLE_STOP", "1")
    url = daemon.ensure_background_emulator()
    pid = json.loads((tmp_path / "emulator.json").read_text())["pid"]
    deadline = time.monotonic() + 30
    while daemon._alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not daemon._alive(pid)
    assert daemon.health(url, 0.5) is None
    assert not (tmp_path / "emulator.json").exists()
    assert daemon.stop_background_emulator() == 0


def test_another_environment_replaces_an_idle_emulator(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHMAGIC_STATE_DIR", str(tmp_path))
    first = daemon.ensure_background_emulator()
    monkeypatch.setattr(daemon, "interpreter_id", lambda: "/another/venv|/usr/bin/python3")
    try:
        second = daemon.ensure_background_emulator()
        assert second != first
        assert daemon.health(first, 0.5) is None  # never two at once
    finally:
        assert daemon.stop_background_emulator() == 1

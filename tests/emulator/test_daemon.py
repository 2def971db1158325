"""The per-user background emulator: start, reuse, stop; and the CLI's modes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    assert stopped
    assert not daemon._alive(state["pid"])
    assert daemon.health(url, 0.5) is None
    assert daemon.stop_background_emulator() is False


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

"""Loading the extension without AWS settings gets the local emulator ready before any cell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# A fresh kernel: load the extension, wait for the background preparation (never run a cell),
# report what is ready.
KERNEL = """
import json, os, threading
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config
config = Config()
config.HistoryManager.enabled = False
if os.environ.get("TEST_CONFIG_QUEUE"):  # an AWS setting in the IPython configuration
    config.AwsBatchMagics.queue = os.environ["TEST_CONFIG_QUEUE"]
shell = InteractiveShell.instance(config=config)
names = []  # every thread started while the extension loads (one may be done already)
thread_start = threading.Thread.start
def start(thread):
    names.append(thread.name)
    thread_start(thread)
threading.Thread.start = start
shell.run_line_magic("load_ext", "batchmagic")
threading.Thread.start = thread_start
for thread in threading.enumerate():
    if thread.name in ("batchmagic-local-prestart", "batchmagic-local-start"):
        thread.join(120)
started = [n for n in names if n == "batchmagic-local-prestart"]
early = [n for n in names if n == "batchmagic-local-start"]
from batchmagic.emulator.daemon import read_state, health
from batchmagic.run import target
state = read_state() or {}
print(json.dumps({"threads": len(started), "early": len(early), "url": state.get("url"),
                  "healthy": bool(state and health(state["url"])),
                  "set_up": sorted(target._local_settings)}))
"""


def fresh_kernel(tmp_path: Path, **env: str) -> dict[str, object]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("AWS_", "BATCHMAGIC_"))}
    environment.update({
        "BATCHMAGIC_STATE_DIR": str(tmp_path / "state"),
        "BATCHMAGIC_CONFIG": str(tmp_path / "settings.json"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        **env,
    })
    done = subprocess.run([sys.executable, "-c", KERNEL], env=environment, cwd=tmp_path,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def stop_emulator(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "batchmagic", "emulator", "--stop"], timeout=60,
                   env={**os.environ, "BATCHMAGIC_STATE_DIR": str(tmp_path / "state")},
                   capture_output=True)


NOTHING = {"threads": 0, "early": 0, "url": None, "healthy": False, "set_up": []}


@pytest.fixture()
def user(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    stop_emulator(tmp_path)


def test_without_aws_settings_the_emulator_starts_and_is_set_up_at_load(user: Path) -> None:
    ready = fresh_kernel(user)
    assert ready["threads"] == 1
    assert ready["early"] == 1  # its process started before the magics were imported
    assert ready["healthy"] is True
    assert ready["set_up"] == [ready["url"]]  # the first cell will not set it up again


def test_with_aws_settings_nothing_starts(user: Path) -> None:
    ready = fresh_kernel(user, BATCHMAGIC_BUCKET="my-bucket")
    assert ready == NOTHING


def test_with_aws_settings_in_the_ipython_configuration_nothing_starts(user: Path) -> None:
    ready = fresh_kernel(user, TEST_CONFIG_QUEUE="my-queue")
    assert ready == NOTHING


def test_the_prestart_can_be_switched_off(user: Path) -> None:
    ready = fresh_kernel(user, BATCHMAGIC_EMULATOR_PRESTART="0")
    assert ready == NOTHING


def test_invalid_settings_do_not_break_loading(user: Path) -> None:
    ready = fresh_kernel(user, BATCHMAGIC_CPU="lots")
    assert ready == NOTHING

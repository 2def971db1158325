"""Shared fixtures: one embedded emulator per test session, reached over HTTP like AWS.

The whole session runs with its own state and settings directories, so the user's ledger,
settings file and background emulator are never touched; the background emulator that
``--local`` starts is stopped when the session ends.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchmagic.aws.clients import AwsClients, AwsTarget

# The environment as the user had it: the live suite (`pytest -m aws`) reads their settings.
USER_ENVIRONMENT = dict(os.environ)
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="batchmagic-tests-"))
os.environ["BATCHMAGIC_STATE_DIR"] = str(_SESSION_DIR / "state")
os.environ["BATCHMAGIC_CONFIG"] = str(_SESSION_DIR / "settings.json")
for _name in list(os.environ):
    if _name.startswith("BATCHMAGIC_") and _name not in (
        "BATCHMAGIC_STATE_DIR",
        "BATCHMAGIC_CONFIG",
    ):
        del os.environ[_name]


@pytest.fixture(scope="session", autouse=True)
def _stop_background_emulator() -> Iterator[None]:
    yield
    from batchmagic.emulator.daemon import stop_background_emulator

    stop_background_emulator()


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    from batchmagic.emulator import run_emulator

    with run_emulator() as url:
        yield url


@pytest.fixture(scope="session")
def target(emulator_url: str) -> AwsTarget:
    return AwsTarget(region="us-east-1", endpoint_url=emulator_url, emulator=True)


@pytest.fixture()
def clients(target: AwsTarget) -> AwsClients:
    return AwsClients(target)

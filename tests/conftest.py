"""Shared fixtures: one embedded emulator per test session, reached over HTTP like AWS.

The whole session runs with its own HOME, state and settings directories (tests/session_guard.py),
so the user's ledger, settings file, IPython profile and background emulator are never touched;
the background emulator that ``--local`` starts is stopped and the session directory removed when
the session ends, also when it is ended by SIGTERM.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from batchmagic.aws.clients import AwsClients, AwsTarget
from tests import session_guard

# The environment as the user had it: the live suite (`pytest -m aws`) reads their settings.
USER_ENVIRONMENT = dict(os.environ)
_SESSION_DIR = session_guard.isolate()
session_guard.install_signal_handlers()
for _name in list(os.environ):
    if _name.startswith("BATCHMAGIC_") and _name not in (
        "BATCHMAGIC_STATE_DIR",
        "BATCHMAGIC_CONFIG",
    ):
        del os.environ[_name]
# Loading the extension starts the local emulator when no AWS settings exist; tests start the
# emulators they use themselves (tests/run/test_prestart.py covers the prestart).
os.environ["BATCHMAGIC_EMULATOR_PRESTART"] = "0"


@pytest.fixture(scope="session", autouse=True)
def _clean_up_the_session() -> Iterator[None]:
    yield
    session_guard.stop_emulator()  # the session directory goes at exit


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

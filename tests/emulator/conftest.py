"""Fixtures for the emulator's tests: clients over HTTP and a ready queue."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import client, make_queue


@pytest.fixture(scope="session")
def batch(emulator_url: str) -> Any:
    return client(emulator_url, "batch")


@pytest.fixture(scope="session")
def logs(emulator_url: str) -> Any:
    return client(emulator_url, "logs")


@pytest.fixture(scope="session")
def queue(batch: Any) -> str:
    return make_queue(batch)

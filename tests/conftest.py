"""Shared fixtures: one embedded emulator per test session, reached over HTTP like AWS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from batchmagic.aws import AwsClients, AwsTarget


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

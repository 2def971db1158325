"""Fixtures for the emulator's tests: clients over HTTP and a ready queue.

Every Batch response the ``batch`` client receives is walked against botocore's output shape
(tests/emulator/shapes.py); a test whose responses do not match fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulator.shapes import ShapeRecorder
from tests.helpers import client, make_queue

_RECORDER = ShapeRecorder()


@pytest.fixture(scope="session")
def shape_recorder() -> ShapeRecorder:
    return _RECORDER


@pytest.fixture(autouse=True)
def _responses_match_botocore_shapes() -> Iterator[None]:
    before = len(_RECORDER.problems)
    yield
    problems = _RECORDER.problems[before:]
    assert not problems, "responses that AWS could not send:\n" + "\n".join(problems)


@pytest.fixture(scope="session")
def batch(emulator_url: str) -> Any:
    return _RECORDER.attach(client(emulator_url, "batch"))


@pytest.fixture(scope="session")
def logs(emulator_url: str) -> Any:
    return client(emulator_url, "logs")


@pytest.fixture(scope="session")
def queue(batch: Any) -> str:
    return make_queue(batch)

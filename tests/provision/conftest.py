"""Provisioning tests: each test gets its own setup name, and a settings file in tmp_path."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

# Real AWS has the AWS-managed policies (AmazonECSTaskExecutionRolePolicy, ...); moto loads them
# only when asked. Set before any emulator starts: moto reads it when the IAM backend is made.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


@pytest.fixture()
def name() -> str:
    """A setup name no other test uses (the emulator lives for the whole session)."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture()
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The settings file for this test; the user's own is never touched."""
    path = tmp_path / "settings.json"
    monkeypatch.setenv("BATCHMAGIC_CONFIG", str(path))
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    # The session's own state dir stays: without it a background emulator would be the user's.
    kept = ("BATCHMAGIC_CONFIG", "BATCHMAGIC_STATE_DIR")
    for var in [v for v in os.environ if v.startswith("BATCHMAGIC_") and v not in kept]:
        monkeypatch.delenv(var, raising=False)
    return path

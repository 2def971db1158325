"""Fixtures for the AWS-facing modules: a fresh bucket and run location per test."""

from __future__ import annotations

import uuid

import pytest

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.staging import RunLocation


@pytest.fixture()
def bucket(clients: AwsClients) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    clients.s3.create_bucket(Bucket=name)
    return name


@pytest.fixture()
def location(bucket: str) -> RunLocation:
    return RunLocation.new(bucket, "batchmagic", "tester")

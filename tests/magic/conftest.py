"""A real IPython shell with batchmagic loaded; cells run in a fresh working directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from batchmagic.aws import AwsClients
from batchmagic.infra import local_target


@pytest.fixture(scope="session")
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "batchmagic")
    return ip


@pytest.fixture()
def ip(shell: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.chdir(tmp_path)
    magics = shell.magics_manager.registry["AwsBatchMagics"]
    magics.layers.session.clear()
    yield shell
    magics.layers.session.clear()


@pytest.fixture()
def local_clients() -> AwsClients:
    """Clients for the background emulator that --local runs use."""
    return AwsClients(local_target())


def job_count(clients: AwsClients) -> int:
    """How many jobs the local emulator has seen, over all its queues."""
    total = 0
    for queue in clients.batch.describe_job_queues()["jobQueues"]:
        for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED",
                       "FAILED"):
            total += len(clients.batch.list_jobs(jobQueue=queue["jobQueueArn"],
                                                 jobStatus=status)["jobSummaryList"])
    return total


def object_count(clients: AwsClients) -> int:
    total = 0
    for bucket in clients.s3.list_buckets()["Buckets"]:
        total += clients.s3.list_objects_v2(Bucket=bucket["Name"]).get("KeyCount", 0)
    return total

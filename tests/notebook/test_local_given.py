"""--local picks the endpoint only: a --bucket or --queue given with it is used on the emulator
(never silently replaced by the emulator's own)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from batchmagic.aws.clients import AwsClients
from batchmagic.errors import ConfigurationError
from tests.helpers import job_count


def test_a_given_bucket_is_created_and_used_on_the_emulator(
        ip: Any, local_clients: AwsClients) -> None:
    bucket = f"mine-{uuid.uuid4().hex[:10]}"
    run = ip.run_cell_magic("aws_batch", f"--local --bucket {bucket} --keep", "print('here')")
    assert run.location.bucket == bucket
    keys = local_clients.s3.list_objects_v2(Bucket=bucket, Prefix=run.location.run_prefix)
    assert keys["KeyCount"] > 0


def test_a_missing_queue_names_the_queues_that_exist(ip: Any,
                                                     local_clients: AwsClients) -> None:
    ip.run_cell_magic("aws_batch", "--local", "pass")  # the emulator's own queue exists
    existing = sorted(q["jobQueueName"]
                      for q in local_clients.batch.describe_job_queues()["jobQueues"])
    jobs = job_count(local_clients)
    with pytest.raises(ConfigurationError) as caught:
        ip.run_cell_magic("aws_batch", "--local --queue no-such-queue", "pass")
    message = str(caught.value)
    assert message.startswith("job queue 'no-such-queue' not found in emulator at ")
    assert f"(queues there: {', '.join(existing)})" in message
    assert job_count(local_clients) == jobs

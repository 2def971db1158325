"""Resume a job after a kernel restart, or from another machine with only its job id.

The ledger knows everything about runs started on this machine; for any other job the tags
batchmagic puts on every job (bucket, run prefix, outputs, pulled names) are enough.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from batchmagic.aws.clients import AwsClients, AwsTarget, explain
from batchmagic.errors import ConfigurationError
from batchmagic.ledger import Ledger, RunRecord


def _split(value: str) -> tuple[str, ...]:
    return tuple(item for item in value.split(",") if item)


def record_from_job(clients: AwsClients, job_id: str, output_dir: Path) -> RunRecord:
    """A RunRecord rebuilt from DescribeJobs and the job's batchmagic tags."""
    try:
        jobs: list[dict[str, Any]] = clients.batch.describe_jobs(jobs=[job_id])["jobs"]
    except (ClientError, BotoCoreError) as error:
        raise explain(error, "DescribeJobs") from None
    if not jobs:
        raise ConfigurationError(
            f"no job {job_id!r} in {clients.target.describe()} and none in the ledger; "
            "check the id (or the region / --local)"
        )
    job = jobs[0]
    tags: dict[str, str] = job.get("tags") or {}
    if "batchmagic:prefix" not in tags or "batchmagic:bucket" not in tags:
        raise ConfigurationError(f"job {job_id} was not started by batchmagic (no batchmagic tags)")
    target = clients.target
    return RunRecord(
        job_id=job["jobId"],
        job_name=job["jobName"],
        region=target.region,
        profile=target.profile,
        endpoint_url=target.endpoint_url,
        emulator=target.emulator,
        bucket=tags["batchmagic:bucket"],
        run_prefix=tags["batchmagic:prefix"],
        output_dir=str(output_dir),
        outputs=_split(tags.get("batchmagic:outputs", "")),
        pull=_split(tags.get("batchmagic:pull", "")),
        source_hash=tags.get("batchmagic:cell", ""),
        started_at=job.get("createdAt", time.time() * 1000) / 1000,
        status=job.get("status", "SUBMITTED"),
    )


def find_record(
    ledger: Ledger, job_id_or_name: str, fallback: AwsTarget, output_dir: Path
) -> tuple[RunRecord, AwsClients]:
    """The run to attach to: from the ledger (its own target), else from the job's tags."""
    record = ledger.find(job_id_or_name)
    if record is not None:
        return record, AwsClients.shared(record.target())
    clients = AwsClients.shared(fallback)
    record = record_from_job(clients, job_id_or_name, output_dir)
    ledger.record(record)
    return record, clients

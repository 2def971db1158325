"""Resume a job after a kernel restart, or from another machine with only its job id.

The ledger knows everything about runs started on this machine; for any other job, the job's
tags (bucket and run prefix) lead to the run's manifest in S3 (outputs, pulled names, output
dir), which is enough.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.aws.errors import aws_errors
from batchmagic.errors import ConfigurationError
from batchmagic.ledger import Ledger, RunRecord
from batchmagic.run.manifest import RunManifest, read_manifest


def _answers(url: str) -> bool:
    """Whether something listens at ``url`` (an emulator keeps its jobs only while it runs)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80),
                                      timeout=1):
            return True
    except OSError:
        return False


def _split(value: str) -> tuple[str, ...]:
    return tuple(item for item in value.split(",") if item)


def _manifest_from_old_tags(job: dict[str, Any], tags: dict[str, str]) -> RunManifest:
    """Runs collected without --keep have no manifest left; jobs of earlier versions kept
    their (glob-free) outputs and pulled names in tags."""
    prefix = tags["batchmagic:prefix"]
    return RunManifest(job_name=job["jobName"], run_id=prefix.rsplit("/", 1)[-1],
                       user=tags.get("batchmagic:user", ""),
                       outputs=_split(tags.get("batchmagic:outputs", "")),
                       pull=_split(tags.get("batchmagic:pull", "")))


def record_from_job(clients: AwsClients, job_id: str, output_dir: Path) -> RunRecord:
    """A RunRecord rebuilt from DescribeJobs and the job's batchmagic tags."""
    with aws_errors("DescribeJobs"):
        jobs: list[dict[str, Any]] = clients.batch.describe_jobs(jobs=[job_id])["jobs"]
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
    bucket, prefix = tags["batchmagic:bucket"], tags["batchmagic:prefix"]
    manifest = read_manifest(clients, bucket, prefix) or _manifest_from_old_tags(job, tags)
    hint = Path(manifest.output_dir)
    if not hint.is_absolute() and output_dir == Path.cwd():
        output_dir = output_dir / hint  # the same layout as on the machine that started it
    return RunRecord(
        job_id=job["jobId"],
        job_name=job["jobName"],
        region=target.region,
        profile=target.profile,
        endpoint_url=target.endpoint_url,
        emulator=target.emulator,
        bucket=bucket,
        run_prefix=prefix,
        output_dir=str(output_dir),
        outputs=manifest.outputs,
        pull=manifest.pull,
        source_hash=manifest.source_hash or tags.get("batchmagic:cell", ""),
        started_at=job.get("createdAt", time.time() * 1000) / 1000,
        status=job.get("status", "SUBMITTED"),
    )


def find_record(
    ledger: Ledger, job_id_or_name: str, fallback: AwsTarget, output_dir: Path
) -> tuple[RunRecord, AwsClients]:
    """The run to attach to: from the ledger (its own target), else from the job's tags."""
    record = ledger.find(job_id_or_name)
    if record is not None:
        if record.emulator and record.endpoint_url and not _answers(record.endpoint_url):
            raise ConfigurationError(
                f"job {record.job_id} ran on the emulator at {record.endpoint_url}, which is no "
                "longer running (stopped with `batchmagic emulator --stop`, idle for two hours, "
                "or the machine restarted): its job, logs and files went with it")
        return record, AwsClients.shared(record.target())
    clients = AwsClients.shared(fallback)
    record = record_from_job(clients, job_id_or_name, output_dir)
    ledger.record(record)
    return record, clients

"""From a prepared run to a submitted job: queue, job definition, uploads, SubmitJob."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.aws.errors import aws_errors
from batchmagic.aws.progress import ProgressCallback, ProgressMeter
from batchmagic.aws.resolve import ensure_bucket, ensure_job_definition, resolve_queue
from batchmagic.aws.staging import delete_prefix, upload
from batchmagic.aws.submitonce import submit_once
from batchmagic.errors import ConfigurationError, SubmissionError, interrupted
from batchmagic.jobdef import spec
from batchmagic.jobdef.limits import check_submission
from batchmagic.ledger import Ledger, RunRecord
from batchmagic.run.cost import refresh_prices_in_background
from batchmagic.run.envcache import stage_environment
from batchmagic.run.handle import Binder, Run
from batchmagic.run.interrupt import interrupted_before_start
from batchmagic.run.manifest import RunManifest, write_manifest
from batchmagic.run.prepare import PreparedRun
from batchmagic.run.timeline import PhaseClock
from batchmagic.run.view import RunDisplay
from batchmagic.settings import MANAGED_TAG, Settings


def run_tags(prepared: PreparedRun) -> dict[str, str]:
    """Charset-safe tags that point `%aws_batch_attach` at the run's manifest in S3 (the
    manifest holds what tags cannot: output globs, pulled names, the output dir)."""
    tags = {
        **MANAGED_TAG,
        "batchmagic:user": prepared.settings.user,
        "batchmagic:bucket": prepared.settings.bucket or "",
        "batchmagic:prefix": prepared.run_prefix,
        "batchmagic:cell": prepared.source_hash,
    }
    tags.update(prepared.tags)
    return {k: v for k, v in tags.items() if v}


def run_manifest(prepared: PreparedRun) -> RunManifest:
    return RunManifest(
        job_name=prepared.job_name,
        run_id=prepared.run_id,
        user=prepared.settings.user,
        outputs=prepared.options.outputs,
        pull=prepared.options.pull,
        output_dir=prepared.settings.output_dir,
        source_hash=prepared.source_hash,
    )


# Queue ARNs: arn:PARTITION:batch:REGION:ACCOUNT:job-queue/NAME (name up to 128 characters).
_QUEUE_ARN_PLACEHOLDER = "arn:aws-us-gov:batch:us-gov-west-1:123456789012:job-queue/" + "q" * 128


def submission(prepared: PreparedRun, queue: str, definition: str) -> dict[str, Any]:
    """The SubmitJob request of this run, checked against the limits AWS enforces (tags,
    override and body sizes) so that a refusal comes before anything is uploaded."""
    location = prepared.location
    payload = spec.submit_payload(
        spec=prepared.job_spec,
        job_name=prepared.job_name,
        job_queue=queue,
        job_definition=definition,
        in_uri=location.in_uri,
        out_uri=location.out_uri,
        output_patterns=prepared.options.outputs,
        pull_names=prepared.options.pull,
        environment=prepared.environment,
        tags=run_tags(prepared),
    )
    check_submission(payload, spec.job_definition_payload(prepared.job_spec)["tags"])
    return payload


def complete_settings(prepared: PreparedRun, settings: Settings) -> PreparedRun:
    """The prepared run with the target's settings (local mode fills in the emulator's)."""
    if not settings.bucket:
        raise ConfigurationError(
            "no S3 bucket configured: run `batchmagic setup`, pass --bucket, or use --local"
        )
    if settings.spot:
        if not settings.spot_queue:
            raise ConfigurationError(
                "--spot: no Spot queue configured; `batchmagic setup --spot` creates a Spot "
                "compute environment (FARGATE_SPOT, or EC2 Spot) and its queue, or set "
                "--spot-queue QUEUE")
        settings = settings.with_values(queue=settings.spot_queue)
    elif settings.gpu and settings.gpu_queue:
        settings = settings.with_values(queue=settings.gpu_queue)
    return prepared.with_settings(settings)


def run_record(prepared: PreparedRun, target: AwsTarget, job_id: str,
               where: Mapping[str, str | None]) -> RunRecord:
    """The ledger's record of a just-submitted run."""
    settings = prepared.settings
    return RunRecord(
        job_id=job_id,
        job_name=prepared.job_name,
        region=target.region,
        profile=target.profile,
        endpoint_url=target.endpoint_url,
        emulator=target.emulator,
        bucket=settings.bucket or "",
        run_prefix=prepared.run_prefix,
        output_dir=str(prepared.output_dir),
        outputs=prepared.options.outputs,
        pull=prepared.options.pull,
        keep=settings.keep,
        size=f"{settings.cpu:g} vCPU, {settings.memory} MiB, {settings.platform}",
        source_hash=prepared.source_hash,
        notebook=where.get("notebook"),
        cell_id=where.get("cell_id"),
        started_at=time.time(),
    )


PayloadHook = Callable[[dict[str, Any]], dict[str, Any]]


def submit_prepared(
    prepared: PreparedRun,
    target: AwsTarget,
    *,
    adjust: PayloadHook | None = None,
    where: Mapping[str, str | None] | None = None,
    clock: PhaseClock | None = None,
    show_progress: ProgressCallback | None = None,
) -> tuple[AwsClients, RunRecord]:
    """Create what is missing (queue, job definition), upload, submit; the run's record.

    ``adjust`` changes the SubmitJob request last (array size, retry strategy). ``clock`` gets
    the upload, submit and queue marks; ``show_progress`` an upload that lasts (a meter decides
    what to show).
    """
    clock = clock or PhaseClock()
    clients = AwsClients.shared(target)
    settings = prepared.settings
    definition_payload = spec.job_definition_payload(prepared.job_spec)
    # The limits first, with the longest queue reference the run could use (an ARN).
    submission(prepared, _QUEUE_ARN_PLACEHOLDER, definition_payload["jobDefinitionName"])
    queue = resolve_queue(clients, settings)
    definition = ensure_job_definition(clients, definition_payload)
    location = prepared.location
    ensure_bucket(clients, location.bucket)
    try:
        request = submission(prepared, queue, definition)
        clock.begin("upload")
        meter = ProgressMeter(show_progress or (lambda _progress: None))
        try:
            write_manifest(clients, location.bucket, location.run_prefix,
                           run_manifest(prepared))
            blobs = stage_environment(clients, prepared, prepared.blobs)  # a cached env
            upload(clients, location, prepared.input_files, blobs, progress=meter)
        finally:
            meter.close()
        clock.begin("submit")
        with aws_errors("SubmitJob", SubmissionError):
            response = submit_once(clients, adjust(request) if adjust else request)
        clock.begin("queue")
    except KeyboardInterrupt:
        delete_prefix(clients, location)
        phase = "submit" if "submit" in clock.marks else "upload"
        raise interrupted(interrupted_before_start(phase, location.in_uri)) from None
    except BaseException:
        # AWS refused the job, an interrupt or a staging error: leave nothing behind in S3.
        delete_prefix(clients, location)
        raise
    return clients, run_record(prepared, target, response["jobId"], where or {})


def launch(
    prepared: PreparedRun,
    target: AwsTarget,
    display: RunDisplay,
    *,
    bind: Binder | None = None,
    ledger: Ledger | None = None,
    where: Mapping[str, str | None] | None = None,
    adjust: PayloadHook | None = None,
    clock: PhaseClock | None = None,
) -> Run:
    """Submit the run (see submit_prepared), record it, and start following it.

    ``clock`` carries the run's phases from the start of the cell (``prepare``) on; the upload
    shows its progress in ``display``.
    """
    clock = clock or PhaseClock()
    clients, record = submit_prepared(prepared, target, adjust=adjust, where=where, clock=clock,
                                      show_progress=display.staging)
    refresh_prices_in_background(clients, target.region)
    if ledger is not None:
        ledger.record(record)
    run = Run(record, clients, display, bind=bind, ledger=ledger, clock=clock)
    run.spot = prepared.settings.spot
    return run.start(prepared.settings.diagnose_after, prepared.settings.runnable_timeout)

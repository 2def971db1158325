"""``%%aws_batch --map``: from the magic line to a followed array job (and its retries)."""

from __future__ import annotations

import dataclasses
import pickle
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.errors import aws_errors
from batchmagic.aws.progress import TransferProgress
from batchmagic.aws.staging import RunLocation
from batchmagic.errors import AwsError, BatchMagicError
from batchmagic.jobdef import layout
from batchmagic.ledger import RunRecord
from batchmagic.notebook.mapdisplay import make_map_display
from batchmagic.notebook.progress_view import finished_line
from batchmagic.run.cost import estimate
from batchmagic.run.dryrun import dry_run_report
from batchmagic.run.fanout import (
    MAP_FILE,
    MapOptions,
    MapPlan,
    apply_to_payload,
    plan_map,
    read_items,
    render_items,
)
from batchmagic.run.interrupt import preparing
from batchmagic.run.maplaunch import launch_map, staged_for_map
from batchmagic.run.maprun import MapRun
from batchmagic.run.prepare import PreparedRun, RunOptions, prepare, template_context
from batchmagic.run.submit import complete_settings, submission
from batchmagic.run.target import resolve_region, resolve_target
from batchmagic.settings import Settings

if TYPE_CHECKING:
    from batchmagic.notebook.magics import AwsBatchMagics


@dataclasses.dataclass
class MapCell:
    """One ``--map`` cell: what it needs to run again (``run.retry_failed()``)."""

    magics: AwsBatchMagics
    cell: str
    options: RunOptions
    map_options: MapOptions
    settings: Settings

    def prepare(self, items: list[Any], indices: list[int] | None = None,
                ) -> tuple[PreparedRun, MapPlan]:
        namespace = self.magics.namespace
        first = indices[0] if indices else 0
        with preparing():
            prepared = prepare(self.cell, self.options, self.settings, namespace=namespace,
                               cwd=Path.cwd(), region=resolve_region(self.settings),
                               extra_context={"item": items[0], "index": first})
        context = template_context(prepared.job_name, prepared.run_id, prepared.environment)
        sources = render_items(self.cell, prepared, items, context, indices)
        options = self.map_options
        if indices is not None:  # a retry: its own (smaller) array, no new confirmation
            options = dataclasses.replace(options, max_children=max(len(items), 1))
        return prepared, plan_map(options, items, sources)

    def launch(self, prepared: PreparedRun, plan: MapPlan, indices: list[int] | None = None,
               per_item_dirs: bool | None = None) -> MapRun:
        target, settings = resolve_target(prepared.settings)
        prepared = complete_settings(prepared, settings)
        # A retry's results are merged into the run it retries, which binds them.
        run = launch_map(prepared, plan, target, make_map_display(self.magics.display_mode),
                         bind=None if indices else self.magics._bind, ledger=self.magics.ledger,
                         where=self.magics._where(), retry=self.retry, indices=indices,
                         per_item_dirs=per_item_dirs, show_progress=_upload_done)
        if indices is None:
            self.magics.runs.append(run)
        return run

    def retry(self, original: MapRun, indices: list[int]) -> MapRun:
        """The failed items again, with the kernel's current items and pushed variables."""
        current = read_items(self.map_options, self.magics.namespace)
        source = current if len(current) == original.plan.count else original.plan.items
        prepared, plan = self.prepare([source[i] for i in indices], indices)
        print(f"batchmagic: retrying items {', '.join(map(str, indices))} "
              f"as {prepared.job_name}", file=sys.stderr)
        return self.launch(prepared, plan, indices, original.per_item_dirs)


def _upload_done(progress: TransferProgress) -> None:
    """An upload long enough to be reported (the meter decides) says how it went, once."""
    if progress.finished:
        print(f"batchmagic: {finished_line(progress)}", file=sys.stderr, flush=True)


def worst_case(plan: MapPlan, settings: Settings, region: str) -> str:
    """The sweep's cost bound before it is submitted: per hour of all children, and in total
    when a --timeout caps each child."""
    hour = estimate(platform=settings.platform, cpu=settings.cpu, memory_mib=settings.memory,
                    seconds=3600, region=region, ephemeral_gib=settings.ephemeral_storage)
    line = (f"{plan.children} children of {settings.cpu:g} vCPU / {settings.memory} MiB: "
            f"≈ ${hour.usd * plan.children:.2f} per hour all together at list price")
    if settings.timeout:
        worst = estimate(platform=settings.platform, cpu=settings.cpu,
                         memory_mib=settings.memory, seconds=settings.timeout, region=region,
                         ephemeral_gib=settings.ephemeral_storage)
        line += f", at most ≈ ${worst.usd * plan.children:.2f} (--timeout {settings.timeout})"
    return line


def run_map(magics: AwsBatchMagics, cell: str, options: RunOptions, map_options: MapOptions,
            settings: Settings) -> MapRun | None:
    """Validate, (dry-run or) submit and follow a --map cell; the MapRun is its result."""
    job = MapCell(magics, cell, options, map_options, settings)
    prepared, plan = job.prepare(read_items(map_options, magics.namespace))
    if options.dry_run:
        print(dry_run_report(staged_for_map(prepared, plan)))
        payload = apply_to_payload(submission(prepared, "QUEUE", "DEFINITION"), plan)
        array = payload.get("arrayProperties", {"size": "none (one item: a plain job)"})
        print(f"\n--map {map_options.iterable}: {plan.count} items on {plan.children} children; "
              f"arrayProperties: {array}; retryStrategy: {payload.get('retryStrategy')}")
        return None
    print(f"batchmagic: {worst_case(plan, prepared.settings, prepared.region)}", file=sys.stderr)
    run = job.launch(prepared, plan)
    if options.result:
        magics.namespace[options.result] = run
    if options.wait:
        run.wait()
        magics.runs.remove(run)  # its results are bound
    else:
        print(f"batchmagic: {run.job_name} runs {plan.count} items in the background; "
              f"run.wait() blocks until every child ended.")
    return run


def map_plan_of(clients: AwsClients, record: RunRecord) -> MapPlan | None:
    """The plan of a recorded ``--map`` job, read back from the job and its S3 prefix (so
    attach works from another machine); None for a plain run."""
    jobs = clients.batch.describe_jobs(jobs=[record.job_id])["jobs"]
    if not jobs:
        return None
    tasks = (jobs[0].get("ecsProperties") or {}).get("taskProperties") or [{}]
    main: dict[str, Any] = next(
        (c for c in tasks[0].get("containers", []) if c.get("name") == layout.MAIN), {})
    env = {e["name"]: e.get("value", "") for e in main.get("environment", [])}
    as_name = env.get("BATCHMAGIC_MAP_AS")
    if not as_name:
        return None
    location = RunLocation(record.bucket, record.run_prefix)
    try:
        with aws_errors(f"GetObject {location.in_uri}{MAP_FILE}"):
            body = clients.s3.get_object(Bucket=record.bucket,
                                         Key=f"{location.in_prefix}{MAP_FILE}")["Body"].read()
    except AwsError as error:
        raise BatchMagicError(
            f"map run {record.job_name}: its items are gone from {location.in_uri} (already "
            "collected; the prefix is deleted unless --keep)") from error
    plan = pickle.loads(body)
    # Attached runs collect: the results and failures are on the run, nothing is raised.
    options = MapOptions(iterable="(attached)", as_name=as_name, on_error="collect")
    return MapPlan(options=options, items=plan["items"], sources=plan.get("sources"),
                   children=int(env.get("BATCHMAGIC_MAP_CHILDREN") or 1))


def attach_map(magics: AwsBatchMagics, record: RunRecord, clients: AwsClients,
               plan: MapPlan) -> MapRun:
    """Follow a recorded --map run again and gather its results."""
    run = MapRun(record, clients, plan, make_map_display(magics.display_mode),
                 bind=magics._bind, ledger=magics.ledger).start()
    magics.runs.append(run)
    return run

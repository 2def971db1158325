"""The handle of a ``--map`` run: one array job, its children, and the items' results.

One background thread follows the parent job: a DescribeJobs of the parent per poll (its
``statusSummary`` counts the children per state), and ``ListJobs(arrayJobId, jobStatus)`` only
when those counts changed, so a 200-child array costs the same few calls a minute as one job.
Child logs are read on demand (``run.children[i].logs``) and for failed children - never one
log poller per child.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from batchmagic.aws.backoff import Backoff
from batchmagic.aws.clients import AwsClients
from batchmagic.aws.describer import JobDescriber
from batchmagic.aws.errors import aws_errors
from batchmagic.aws.job import TERMINAL_STATUSES, JobStatus
from batchmagic.aws.staging import RunLocation, delete_prefix
from batchmagic.errors import BatchMagicError, JobFailedError
from batchmagic.jobdef.layout import MAIN
from batchmagic.ledger import Ledger, RunRecord
from batchmagic.run.cost import CostEstimate, job_cost
from batchmagic.run.envcache import store_built_environment
from batchmagic.run.fanout import MapPlan
from batchmagic.run.mapresults import (
    ItemResult,
    MapFailure,
    child_log_lines,
    download_items,
    fetch_item,
    files_by_item,
    names_collide,
)

Binder = Callable[[dict[str, Any]], None]
STATES = tuple(status.value for status in JobStatus)
FAILED_LOG_LINES = 20  # of each failed item's child, shown automatically
FETCH_WORKERS = 16  # concurrent GetObjects of item results (the S3 client pools 32)


class MapDisplay(Protocol):
    """Receives a map run's events (the notebook layer implements it)."""

    def attach(self, run: MapRun) -> None: ...
    def progress(self, run: MapRun) -> None: ...
    def note(self, text: str) -> None: ...
    def finished(self, run: MapRun) -> None: ...
    def flush(self) -> None: ...


class MapFailedError(JobFailedError):
    """Raised by a --map run whose items failed (beyond --min-success). ``.run`` keeps every
    success: ``err.run.results``, ``err.run.retry_failed()``."""


@dataclass
class ChildView:
    """One array child, Run-like: ``status``, ``exit_code``, ``reason``, ``logs``."""

    index: int
    job_id: str
    items: range
    clients: AwsClients
    status: str = "SUBMITTED"
    exit_code: int | None = None
    reason: str | None = None
    started_ms: int | None = None
    stopped_ms: int | None = None
    _logs: list[str] | None = field(default=None, repr=False)

    @property
    def seconds(self) -> float:
        """How long the child ran (what it is billed for)."""
        if self.started_ms is None or self.stopped_ms is None:
            return 0.0
        return max(0.0, (self.stopped_ms - self.started_ms) / 1000)

    @property
    def logs(self) -> list[str]:
        """The main container's log lines (read once, when first asked for after the end)."""
        if self._logs is None or self.status not in TERMINAL_STATUSES:
            self._logs = child_log_lines(self.clients, self.job_id)
        return self._logs

    def log_text(self, container: str = MAIN) -> str:
        return "\n".join(self.logs if container == MAIN
                         else child_log_lines(self.clients, self.job_id, container))


class MapRun:
    """A submitted ``--map`` run. ``results``, ``outputs`` and ``files`` are in input order."""

    def __init__(self, record: RunRecord, clients: AwsClients, plan: MapPlan,
                 display: MapDisplay, *, bind: Binder | None = None,
                 ledger: Ledger | None = None,
                 retry: Callable[[MapRun, list[int]], MapRun] | None = None,
                 indices: list[int] | None = None,
                 per_item_dirs: bool | None = None) -> None:
        self.record = record
        self.clients = clients
        self.plan = plan
        self.location = RunLocation(record.bucket, record.run_prefix)
        self.job_id = record.job_id
        self.job_name = record.job_name
        # Original item indices of this run's items (a retry runs a subset).
        self.indices = indices or list(range(plan.count))
        # Files land in OUTPUT_DIR/<index>/ when items wrote the same names (decided from
        # what came back, unless given: a retry follows the run it retries).
        self.per_item_dirs = per_item_dirs
        self.status = JobStatus.SUBMITTED.value
        self.counts: dict[str, int] = {}
        self.children = [ChildView(c, self._child_id(c), plan.items_of(c), clients)
                         for c in range(plan.children)]
        self.items: dict[int, ItemResult] = {}
        self.error: BatchMagicError | None = None
        self._display = display
        self._bind = bind
        self._ledger = ledger
        self._retry = retry
        self._bound = False
        self._description: dict[str, Any] | None = None
        self._done = threading.Event()
        self._changed = threading.Condition()
        self._started = record.started_at or time.time()
        self._ended: float | None = None
        self._thread = threading.Thread(target=self._follow, daemon=True,
                                        name=f"batchmagic-map-{record.job_id}")

    def _child_id(self, child: int) -> str:
        return f"{self.job_id}:{child}" if self.plan.children > 1 else self.job_id

    # --- what users read -------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def duration(self) -> float | None:
        return None if self._ended is None else self._ended - self._started

    def elapsed(self) -> float:
        return (self._ended or time.time()) - self._started

    @property
    def results(self) -> list[Any]:
        """Per item: its one --pull value (a dict when several are pulled, its outputs when
        none), or a falsy MapFailure where the item failed (None while it runs)."""
        return [self._result(i) for i in range(self.plan.count)]

    def _result(self, position: int) -> Any:
        item = self.items.get(position)
        if item is None:
            return None
        if not item.ok:
            return MapFailure(self.indices[position], item.error or "failed")
        pull = self.record.pull
        if len(pull) == 1:
            return item.pulled.get(pull[0])
        return dict(item.pulled) if pull else dict(item.cell.outputs)

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return [dict(self.items[i].cell.outputs) if i in self.items else {}
                for i in range(self.plan.count)]

    @property
    def files(self) -> list[list[Path]]:
        return [list(self.items[i].files) if i in self.items else []
                for i in range(self.plan.count)]

    @property
    def failed(self) -> dict[int, str]:
        """Original item index -> its exception line, for every item that did not succeed."""
        return {self.indices[i]: item.error or "failed" for i, item in sorted(self.items.items())
                if not item.ok}

    @property
    def succeeded(self) -> int:
        return sum(1 for item in self.items.values() if item.ok)

    def __repr__(self) -> str:
        return (f"<MapRun {self.job_name} job_id={self.job_id} items={self.plan.count} "
                f"children={self.plan.children} status={self.status} "
                f"succeeded={self.succeeded} failed={len(self.failed)}>")

    # --- control ---------------------------------------------------------------------------
    def start(self) -> MapRun:
        self._display.attach(self)
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> MapRun:
        """Block until every child has ended and the results are back; bind them (as the list
        ``run.results`` under the --result name, if any). Ctrl-C terminates the array job."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not self._done.wait(0.1):
                self._display.flush()
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"array job {self.job_id} still {self.status}")
        except KeyboardInterrupt:
            self._display.note("interrupted: terminating the array job (all children)…")
            self.cancel("Interrupted from the notebook")
            self._done.wait(30)
            self._display.flush()
            raise
        self._display.flush()
        self.bind_results()
        if self.error is not None:
            raise self.error
        return self

    def as_completed(self, timeout: float | None = None) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, result)`` as items finish, in completion order."""
        yielded: set[int] = set()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._changed:
                ready = [i for i in self.items if i not in yielded]
                if not ready and not self.done:
                    self._changed.wait(0.5)
                    ready = [i for i in self.items if i not in yielded]
            for position in sorted(ready):
                yielded.add(position)
                yield self.indices[position], self._result(position)
            if self.done and len(yielded) >= len(self.items):
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"array job {self.job_id} still {self.status}")

    def cancel(self, reason: str = "Cancelled from batchmagic") -> None:
        """Terminate the array job: Batch stops every child."""
        if not self.done:
            self.clients.batch.terminate_job(jobId=self.job_id, reason=reason)

    def retry_failed(self, *, wait: bool = True) -> MapRun:
        """Run the failed items again as a new array job (with the kernel's current pushed
        variables and items, so a fix made since applies); their results replace the failures
        here when it ends. Returns the new run."""
        failed = sorted(i for i, item in self.items.items() if not item.ok)
        if not failed:
            raise BatchMagicError("no failed items to retry")
        if self._retry is None:
            raise BatchMagicError("this run cannot be retried from here (attached run)")
        retry = self._retry(self, [self.indices[i] for i in failed])
        if wait:
            try:
                while not retry._done.wait(0.1):
                    retry._display.flush()
            except KeyboardInterrupt:
                retry.cancel("Interrupted from the notebook")
                raise
            retry._display.flush()
            self.merge(retry)
            if retry.error is not None and not isinstance(retry.error, MapFailedError):
                raise retry.error
        return retry

    def merge(self, retry: MapRun) -> None:
        """Take a retry's results for the items it ran."""
        position = {index: p for p, index in enumerate(self.indices)}
        for p, item in retry.items.items():
            here = position[retry.indices[p]]
            self.items[here] = item
        self.error = self._outcome_error()
        # The pulled lists in the kernel now hold the retried values too.
        self._bound = False
        self.bind_results()

    # --- the background follower -------------------------------------------------------------
    def _describe(self) -> dict[str, Any]:
        with aws_errors(f"DescribeJobs {self.job_id}"):
            job = JobDescriber.of(self.clients).describe(self.job_id)
        if job is None:
            raise BatchMagicError(f"array job {self.job_id} not found")
        return job

    @property
    def cost(self) -> CostEstimate | None:
        """Every child's run time at the job's size, at list price (see ``Run.cost``)."""
        if self._description is None:
            return None
        seconds = sum(child.seconds for child in self.children)
        if seconds <= 0:
            return None
        # Each child is billed with its own one-minute minimum on Fargate.
        billed = sum(max(child.seconds, 60.0) for child in self.children if child.seconds)
        return job_cost(self._description, billed, self.clients.target.region,
                        emulated=self.clients.target.emulator)

    @property
    def cost_usd(self) -> float | None:
        cost = self.cost
        return None if cost is None else cost.usd

    def _apply(self, job: dict[str, Any]) -> bool:
        self._description = job
        summary = (job.get("arrayProperties") or {}).get("statusSummary")
        counts = dict(summary) if summary is not None else {job["status"]: 1}
        changed = counts != self.counts or job["status"] != self.status
        self.status = job["status"]
        self.counts = {k: v for k, v in counts.items() if v}
        if self.plan.children == 1:
            self._update_child(0, job)
        return changed

    def _update_child(self, index: int, job: dict[str, Any]) -> None:
        child = self.children[index]
        child.status = job["status"]
        child.started_ms, child.stopped_ms = job.get("startedAt"), job.get("stoppedAt")
        containers = (job.get("ecsProperties") or {}).get("taskProperties", [{}])[0].get(
            "containers", [])
        main = next((c for c in containers if c.get("name") == MAIN), None)
        container = job.get("container") or {}
        child.exit_code = (main or {}).get("exitCode", container.get("exitCode"))
        child.reason = (main or {}).get("reason") or job.get("statusReason")

    def _refresh_children(self, previous: dict[str, int]) -> None:
        """List the children of each state whose count changed (ListJobs, all pages), then
        collect the items of children that have just ended."""
        if self.plan.children == 1:
            if self.status in TERMINAL_STATUSES:
                self._collect_items([self.children[0]])
            return
        paginator = self.clients.batch.get_paginator("list_jobs")
        states = [s for s in STATES if self.counts.get(s, 0) != previous.get(s, 0)
                  and self.counts.get(s, 0)]
        ended: list[ChildView] = []
        for state in states:
            for page in paginator.paginate(arrayJobId=self.job_id, jobStatus=state):
                for summary in page["jobSummaryList"]:
                    child = self._child_summary(summary)
                    if child is not None:
                        ended.append(child)
        self._collect_items(ended)

    def _child_summary(self, summary: dict[str, Any]) -> ChildView | None:
        """Update a child from its ListJobs summary; the child when it has just ended."""
        index = (summary.get("arrayProperties") or {}).get("index")
        if index is None or not 0 <= index < len(self.children):
            return None
        child = self.children[index]
        if child.status in TERMINAL_STATUSES:
            return None
        child.status = summary["status"]
        child.started_ms, child.stopped_ms = summary.get("startedAt"), summary.get("stoppedAt")
        child.reason = summary.get("statusReason")
        child.exit_code = (summary.get("container") or {}).get("exitCode")
        return child if child.status in TERMINAL_STATUSES else None

    def _collect_items(self, children: list[ChildView]) -> None:
        """Read the results of the items of ``children`` from S3, several at a time."""
        wanted = [(position, None if child.status == "SUCCEEDED"
                   else (child.reason or child.status))
                  for child in children for position in child.items if position not in self.items]
        if not wanted:
            return

        def fetch(job: tuple[int, str | None]) -> None:
            item = fetch_item(self.clients, self.location, *job)
            with self._changed:
                self.items[job[0]] = item
                self._changed.notify_all()

        with ThreadPoolExecutor(max_workers=FETCH_WORKERS) as pool:
            list(pool.map(fetch, wanted))

    def _follow(self) -> None:
        try:
            # Quota: DescribeJobs backs off to one call in 5 s while nothing changes.
            backoff = Backoff(first=0.2, most=5.0, factor=1.5)
            delay = backoff.first
            while True:
                previous = dict(self.counts)
                if self._apply(self._describe()):
                    self._refresh_children(previous)
                    self._display.progress(self)
                    delay = backoff.first
                if self.status in TERMINAL_STATUSES:
                    break
                time.sleep(delay)
                delay = backoff.after(delay)
            self._finish()
        except BatchMagicError as error:
            self.error = error
        except Exception as error:  # never lose the run: report anything unexpected
            self.error = BatchMagicError(f"following array job {self.job_id} failed: {error!r}")
        finally:
            self._ended = time.time()
            if self._ledger is not None:
                self._ledger.finish(self.job_id, self.status, cost_usd=self.cost_usd)
            self._display.finished(self)
            with self._changed:
                self._done.set()
                self._changed.notify_all()

    def _finish(self) -> None:
        # Children the last listing missed (a one-poll job, or the final state change).
        self._collect_items(self.children)
        cached = store_built_environment(self.clients, self.location)  # children built one
        if cached:
            self._display.note(cached)
        files = files_by_item(self.clients, self.location)
        if self.per_item_dirs is None:
            self.per_item_dirs = names_collide(files)
        placed = download_items(self.clients, self.location, Path(self.record.output_dir),
                                files, self.indices, self.per_item_dirs)
        for position, paths in placed.items():
            if position in self.items:
                self.items[position].files = paths
        for child in self.children:
            if any(not self.items[p].ok for p in child.items) and child._logs is None:
                child._logs = child_log_lines(self.clients, child.job_id)[-FAILED_LOG_LINES:]
        if not self.record.keep:
            delete_prefix(self.clients, self.location)
        self.error = self._outcome_error()

    def bind_results(self) -> None:
        """Bind each --pull name to the list of its values in input order (a MapFailure where
        an item failed), once, after the run has ended."""
        with self._changed:
            if self._bound or not self._done.is_set():
                return
            self._bound = True
        if self._bind is not None and self.record.pull:
            results = [self.items.get(p) for p in range(self.plan.count)]
            self._bind({name: [item.pulled.get(name) if item is not None and item.ok
                               else self._result(p) for p, item in enumerate(results)]
                        for name in self.record.pull})

    def _outcome_error(self) -> BatchMagicError | None:
        failed = self.failed
        if not failed or self.plan.options.on_error == "collect":
            return None
        share = self.succeeded / max(1, self.plan.count)
        minimum = self.plan.options.min_success
        if minimum is not None and share >= minimum:
            return None
        lines = [f"  item {index}: {error}" for index, error in list(failed.items())[:10]]
        more = len(failed) - len(lines)
        if more > 0:
            lines.append(f"  … and {more} more (run.failed)")
        needed = f" (needed {minimum:.0%})" if minimum is not None else ""
        return MapFailedError(
            f"{len(failed)} of {self.plan.count} items failed, {share:.0%} succeeded{needed}; "
            f"array job {self.job_name} ({self.job_id}). The successes are kept: "
            "run.results, run.failed, run.retry_failed()\n" + "\n".join(lines), self)

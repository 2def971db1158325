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
from pathlib import Path
from typing import Any

from batchmagic.aws.backoff import Backoff
from batchmagic.aws.clients import AwsClients
from batchmagic.aws.job import TERMINAL_STATUSES, JobStatus
from batchmagic.aws.staging import RunLocation, delete_prefix
from batchmagic.errors import BatchMagicError, JobFailedError, interrupted
from batchmagic.ledger import Ledger, RunRecord
from batchmagic.run.cost import CostEstimate
from batchmagic.run.envcache import store_built_environment
from batchmagic.run.fanout import MapPlan
from batchmagic.run.interrupt import array_interrupt_summary
from batchmagic.run.mapchildren import (
    ChildView,
    apply_description,
    children_cost,
    describe_parent,
    ended_children,
)
from batchmagic.run.mapresults import (
    ItemResult,
    MapFailure,
    child_log_lines,
    download_items,
    failure_message,
    fetch_items,
    files_by_item,
    names_collide,
)
from batchmagic.run.view import MapDisplay

Binder = Callable[[dict[str, Any]], None]
FAILED_LOG_LINES = 20  # of each failed item's child, shown automatically


class MapFailedError(JobFailedError):
    """Raised by a --map run whose items failed (beyond --min-success). ``.run`` keeps every
    success: ``err.run.results``, ``err.run.retry_failed()``."""


class MapRun:
    """A submitted ``--map`` run. ``results``, ``outputs`` and ``files`` are in input order."""

    def __init__(self, record: RunRecord, clients: AwsClients, plan: MapPlan,
                 display: MapDisplay, *, bind: Binder | None = None,
                 ledger: Ledger | None = None,
                 retry: Callable[[MapRun, list[int]], MapRun] | None = None,
                 indices: list[int] | None = None,
                 per_item_dirs: bool | None = None) -> None:
        self.record, self.clients, self.plan = record, clients, plan
        self.location = RunLocation(record.bucket, record.run_prefix)
        self.job_id, self.job_name = record.job_id, record.job_name
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
        self.interrupted = False  # Ctrl-C stopped it: its summary says so rather than "failed"
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
            self.interrupted = True
            self._display.note("interrupted: terminating the array job (all children)…")
            self.cancel("Interrupted from the notebook")
            self._done.wait(30)
            self._display.flush()
            raise interrupted(array_interrupt_summary(self.job_name, self.job_id)) from None
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
    @property
    def cost(self) -> CostEstimate | None:
        """Every child's run time at the job's size, at list price (see ``Run.cost``)."""
        if self._description is None:
            return None
        return children_cost(self._description, self.children, self.clients.target)

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
            apply_description(self.children[0], job)
        return changed

    def _refresh_children(self, previous: dict[str, int]) -> None:
        """Update the children whose state changed; collect the items of those just ended."""
        if self.plan.children == 1:
            if self.status in TERMINAL_STATUSES:
                self._collect_items([self.children[0]])
            return
        self._collect_items(ended_children(self.clients, self.job_id, self.children,
                                           self.counts, previous))

    def _collect_items(self, children: list[ChildView]) -> None:
        """Read the results of the items of ``children`` from S3, several at a time."""
        wanted = [(position, None if child.status == "SUCCEEDED"
                   else (child.reason or child.status))
                  for child in children for position in child.items if position not in self.items]
        if not wanted:
            return

        def store(position: int, item: ItemResult) -> None:
            with self._changed:
                self.items[position] = item
                self._changed.notify_all()

        fetch_items(self.clients, self.location, wanted, store)

    def _follow(self) -> None:
        try:
            # Quota: at most one DescribeJobs a second, one in 5 s while nothing changes.
            backoff = Backoff(first=1.0, most=5.0, factor=1.5)
            delay = backoff.first
            while True:
                previous = dict(self.counts)
                if self._apply(describe_parent(self.clients, self.job_id)):
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
        message = failure_message(self.failed, self.succeeded, self.plan,
                                  f"array job {self.job_name} ({self.job_id})")
        return None if message is None else MapFailedError(message, self)

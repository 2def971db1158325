"""One ``%%aws_batch`` run: submit, follow the job and its logs, bring back what it produced.

The job is followed by one background thread whatever the mode, so a blocking cell and a
``--no-wait`` cell take the same path; a blocking cell simply waits for that thread.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.follow import FOLLOW_PACING, LiveJobWatcher, follow_logs
from batchmagic.aws.job import BatchJob, JobSnapshot, JobStatus
from batchmagic.aws.logs import LogLine, LogPoller
from batchmagic.aws.progress import ProgressMeter
from batchmagic.aws.staging import RunLocation, delete_prefix, list_keys
from batchmagic.errors import BatchMagicError, interrupted
from batchmagic.jobdef import layout
from batchmagic.ledger import Ledger, RunRecord
from batchmagic.run.cost import CostEstimate, Usage, snapshot_cost
from batchmagic.run.diagnosis import Diagnosis
from batchmagic.run.envcache import download_after_filing
from batchmagic.run.exitdiag import collected_before
from batchmagic.run.failure import failure
from batchmagic.run.interrupt import RETURN_WITHIN_S, interrupt_summary
from batchmagic.run.logbook import ContainerLog, LogBook
from batchmagic.run.outcome import Outcome, Verdict, judge
from batchmagic.run.outputs import CellResult, parse_protocol_line, unmatched_patterns
from batchmagic.run.stageout import StageOutBudget
from batchmagic.run.startwatch import StartWatch
from batchmagic.run.timeline import JobTimes, PhaseClock, Timeline
from batchmagic.run.view import RunDisplay, wait_flushing
from batchmagic.settings import LOG_GROUP

Binder = Callable[[dict[str, Any]], None]


class Run:
    """A submitted run. Properties read like a finished cell: ``outcome`` (what happened),
    ``status`` (Batch's), ``exit_code`` (of the main container), ``reason``, ``outputs``,
    ``files``, ``logs`` (main's lines, all of them), ``duration``; ``log_text(container)``.
    """

    def __init__(
        self,
        record: RunRecord,
        clients: AwsClients,
        display: RunDisplay,
        *,
        bind: Binder | None = None,
        ledger: Ledger | None = None,
        clock: PhaseClock | None = None,
    ) -> None:
        self.record = record
        self.clients = clients
        self.location = RunLocation(record.bucket, record.run_prefix)
        self.job_id = record.job_id
        self.job_name = record.job_name
        self.outputs: dict[str, Any] = {}
        self.files: list[Path] = []
        self.logbook = LogBook()
        self.logs: ContainerLog = self.logbook.main
        self.pulled: dict[str, Any] = {}
        self.warnings: list[str] = []
        self.cell_result = CellResult()
        self.error: BatchMagicError | None = None
        self.snapshot: JobSnapshot | None = None
        self.spot = False  # ran on a Spot compute environment (the cost estimate follows)
        self.diagnosis: Diagnosis | None = None  # why the job waited to start (if it did)
        self._start_watch: StartWatch | None = None
        self._display = display
        self._bind = bind
        self._bound = False
        self._ledger = ledger
        self._job = BatchJob(clients, record.job_id)
        self._started = record.started_at or time.time()
        self._ended: float | None = None
        # The kernel's marks of this run's phases (from the cell's start when it was launched
        # here; a reattached run starts with the job's own times).
        self._clock = clock or PhaseClock(first=None)
        self._main_span: tuple[float, float] | None = None  # main's first and last log times
        self._done = threading.Event()
        self._wake_waiter = threading.Event()  # the job ended, or the run was detached
        self.detached = False
        self._stage_out = StageOutBudget(self._job.terminate, self.warnings.append)
        self._stop = threading.Event()  # Ctrl-C: download nothing more, bind nothing
        self._downloading = False
        self._never_collected = False
        self._earlier: RunRecord | None = None  # an earlier collection's record (an attach)
        self._cancelled = False
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._follow, name=f"batchmagic-{record.job_id}",
                                        daemon=True)

    # --- what users read -------------------------------------------------------------------
    @property
    def status(self) -> str:
        """Batch's status of the job (SUBMITTED ... SUCCEEDED/FAILED), from the latest snapshot."""
        return self.snapshot.status.value if self.snapshot else JobStatus.SUBMITTED.value

    @property
    def exit_code(self) -> int | None:
        """The main container's exit code (None until it has stopped)."""
        main = self.snapshot.container(layout.MAIN) if self.snapshot else None
        return main.exit_code if main is not None else None

    @property
    def reason(self) -> str | None:
        """Why main (or, before main has a record, the job) stopped, as Batch says it."""
        if self.snapshot is None:
            return None
        main = self.snapshot.container(layout.MAIN)
        return (main.reason if main is not None else None) or self.snapshot.status_reason

    @property
    def usage(self) -> Usage | None:
        """The cell's ``max_rss_mib``, ``cpu_seconds`` and ``wall_seconds`` (after the run)."""
        return Usage.parse(self.cell_result.usage)

    @property
    def cost(self) -> CostEstimate | None:
        """Estimated cost at list price (on the emulator: as on Fargate), once started."""
        return snapshot_cost(self.snapshot, self.clients.target, spot=self.spot)

    @property
    def cost_usd(self) -> float | None:
        return None if (cost := self.cost) is None else cost.usd

    @property
    def verdict(self) -> Verdict:
        """The outcome with its detail, e.g. ``cell failed (ValueError)``."""
        return judge(self.snapshot, self.cell_result, ended=self._ended is not None,
                     cancelled=self._cancelled,
                     error=str(self.error) if self.error is not None else None)

    @property
    def outcome(self) -> Outcome:
        """What happened, as the user cares about it (``succeeded``, ``cell failed``, ``killed``,
        ``stage-in failed``, ``terminated``, ``timed out``…); ``status`` stays Batch's."""
        return self.verdict.outcome

    def log_text(self, container: str = layout.MAIN) -> str:
        """Every line of one container's log (``stage-in``, ``main``, ``stage-out``) as text."""
        return self.logbook.container(container).text()

    @property
    def display(self) -> RunDisplay:
        """What shows this run under its cell (the widget, or text)."""
        return self._display

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def duration(self) -> float | None:
        ended = self._ended if self._earlier is None else self._earlier.ended_at  # as it was
        return None if ended is None else ended - self._started

    @property
    def timeline(self) -> Timeline:
        """The run's phases in order (prepare, upload, submit, queue, stage-in, main, stage-out,
        download, cleanup), each with ``.name``, ``.start``, ``.duration`` (see run/timeline.py)."""
        if self._earlier is not None and self._earlier.timeline:
            return Timeline.from_tuples(self._earlier.timeline)
        cell, span = self.cell_result, self._main_span or (None, None)
        return self._clock.timeline(JobTimes.of(self.snapshot, cell.started_at or span[0],
                                                cell.ended_at or span[1]))

    def elapsed(self) -> float:
        return (self._ended or time.time()) - self._started

    def __repr__(self) -> str:
        return (f"<Run {self.job_name} job_id={self.job_id} outcome={self.verdict} "
                f"status={self.status} exit_code={self.exit_code} files={len(self.files)} "
                f"outputs={self.outputs!r}>")

    # --- control ---------------------------------------------------------------------------
    def start(self, diagnose_after: float = 30.0,
              runnable_timeout: float | None = None) -> Run:
        """Start following the job; one that waits to start is diagnosed after
        ``diagnose_after`` seconds and cancelled after ``runnable_timeout``."""
        self._display.attach(self)
        self._thread.start()
        self._start_watch = StartWatch(self, diagnose_after, runnable_timeout)
        self._start_watch.start()
        return self

    @property
    def done_event(self) -> threading.Event:
        return self._done

    def wait(self, timeout: float | None = None) -> Run:
        """Block until the job has ended and its outputs are back; bind pulled variables.

        Ctrl-C terminates the job, waits until it has stopped, then raises KeyboardInterrupt.
        Raises JobFailedError when the cell (or the job) failed.
        """
        if not self._done.is_set():
            self._wake_waiter.clear()  # a wait after detach() blocks again
        try:
            finished = wait_flushing(self._wake_waiter, self._display, timeout)
        except KeyboardInterrupt:
            raise self._interrupt() from None
        if not finished:
            raise TimeoutError(f"job {self.job_id} still {self.status} after {timeout} s")
        if not self._done.is_set():  # detached: the job goes on in the background
            self._display.note("detached: the cell returns; logs keep streaming here, outputs "
                               "and pulled variables arrive when the job ends (or at run.wait())")
            return self
        self.bind_results()
        if self.error is not None:
            raise self.error
        return self

    def detach(self) -> None:
        """Let the waiting cell return; the run goes on in the background (as --no-wait)."""
        if not self._done.is_set():
            self.detached = True
            self._wake_waiter.set()

    def _interrupt(self) -> KeyboardInterrupt:
        """Stop now (TerminateJob, or cancel the download); nothing is bound later."""
        phase = "download" if self._downloading else "job"
        was = self.status  # before TerminateJob: the line says what was stopped
        self._stop.set()
        if phase == "job":
            self.cancel("Interrupted from the notebook")
        with self._lock:
            self._bound = True
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: return now
            wait_flushing(self._done, self._display, RETURN_WITHIN_S)
        return interrupted(interrupt_summary(self, phase=phase, was=was))

    def cancel(self, reason: str = "Cancelled from batchmagic") -> None:
        """Terminate the job (TerminateJob). The run ends once Batch reports the job stopped;
        ``wait()`` blocks until then."""
        if not self._done.is_set():
            self._cancelled = True
            self._job.terminate(reason)

    def refresh(self) -> Run:
        """Describe the job now and update ``status`` and the exit codes."""
        self._apply(self._job.describe())
        return self

    def bind_results(self) -> None:
        """Bind pulled variables into the kernel once (called after the job has ended)."""
        with self._lock:
            if self._bound or not self._done.is_set():
                return
            self._bound = True
        if self._bind is not None and self.pulled:
            self._bind(dict(self.pulled))

    # --- the background follower -------------------------------------------------------------
    def _apply(self, snapshot: JobSnapshot) -> None:
        self.snapshot = snapshot

    def _on_lines(self, container: str, lines: list[LogLine]) -> None:
        shown = []
        if container == layout.MAIN and lines:
            stamps = [line.timestamp_ms / 1000 for line in lines]
            span = self._main_span or (stamps[0], stamps[0])
            self._main_span = (min(span[0], *stamps), max(span[1], *stamps))
        for line in lines:
            message = line.message.rstrip("\n")
            if container == layout.MAIN:
                protocol = parse_protocol_line(message)
                if protocol is not None:
                    self.outputs.update(protocol.get("outputs") or {})
                    if "batchmagic" in protocol:  # the bootstrap's last line: the cell is done
                        self._wake.set()
                    continue
            self.logbook.container(container).add(message)
            shown.append(message)
        if shown:
            self._display.lines(container, shown)

    def _follow(self) -> None:
        try:
            poller = LogPoller.shared(self.clients)
            watcher = LiveJobWatcher(self._job, poller, self._on_lines, log_group=LOG_GROUP)
            snapshot = follow_logs(self._job, watcher, on_update=self._on_update,
                                   pacing=FOLLOW_PACING, wake=self._wake)
            self._apply(snapshot)
            self._collect(snapshot)
        except BatchMagicError as error:
            self.error = error
        except Exception as error:  # never lose the run: report anything unexpected
            self.error = BatchMagicError(f"following job {self.job_id} failed: {error!r}")
        finally:
            self._stage_out.stop()
            self._ended = time.time()
            self._clock.end(self._ended)
            if self._ledger is not None and self._earlier is None:  # keep an earlier record
                self._ledger.finish(self.job_id, self.status, self._ended, cost_usd=self.cost_usd,
                                    timeline=self.timeline.to_tuples(), outcome=self.outcome.value)
            # The display's final state must be sent before a waiting cell returns.
            self._display.finished(self)
            self._done.set()
            self._wake_waiter.set()

    def _on_update(self, snapshot: JobSnapshot) -> None:
        self._apply(snapshot)
        self._stage_out.check(snapshot)
        self._display.status(self)

    def _collect(self, snapshot: JobSnapshot) -> None:
        if self._stop.is_set():  # interrupted: the prefix stays for a later attach
            return
        self._clock.begin("download")
        meter = ProgressMeter(self._display.staging)
        self._downloading = True
        try:
            result = download_after_filing(self.clients, self.location,
                                           Path(self.record.output_dir), self._display.note,
                                           progress=meter, stop=self._stop)
        finally:
            self._downloading = False
            meter.close()
        self._clock.begin("cleanup")
        self.files = result.files
        if result.stopped:
            return
        self.warnings += [f"{key} was not downloaded: {why}" for key, why in result.skipped]
        self.cell_result = CellResult.parse(result.internal.get(layout.RESULT_FILE))
        self.outputs.update(self.cell_result.outputs)
        self.pulled = self.cell_result.pulled_from(result.internal.get(layout.PULL_FILE))
        self.warnings += self.cell_result.link_warnings()
        if layout.RESULT_FILE not in result.internal:  # os._exit, or collected before?
            self._never_collected = bool(list_keys(self.clients, self.location.bucket,
                                                   self.location.in_prefix))
            if self.record.ended_at is not None and not self.files:  # collected before
                self._earlier = self.record
                self.warnings.append(collected_before(self.record))
        if not self.record.keep:
            delete_prefix(self.clients, self.location)
        self.error = failure(self, snapshot, self._start_watch, self._never_collected)
        if self.error is None and self._earlier is None:  # else the files came back earlier
            self.warnings += unmatched_patterns(self.record.outputs, Path(self.record.output_dir),
                                                self.files)
        for warning in self.warnings:
            self._display.note(f"warning: {warning}")

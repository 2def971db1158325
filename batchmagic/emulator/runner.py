"""The job lifecycle: SUBMITTED -> PENDING -> RUNNABLE -> STARTING -> RUNNING -> SUCCEEDED/FAILED,
with retries, timeouts, termination and array parents, on a bounded pool of worker threads."""

from __future__ import annotations

import fnmatch
import queue
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from batchmagic.emulator.logsink import ACCOUNT_ID, LogSink
from batchmagic.emulator.models import TERMINAL, ContainerRun, Job, new_task_id, now_ms
from batchmagic.emulator.task import AttemptEnd, AttemptResult, TaskAttempt

MAX_RUNNING_JOBS = 64  # jobs beyond this wait (as SUBMITTED) for a worker, like a full CE


@dataclass(frozen=True)
class Placement:
    """Where a RUNNABLE job can start now: the compute environment's name."""

    ce_name: str


# None: not yet (queue or environment not VALID/ENABLED); a string: the statusReason of a job
# that no environment of its queue can run.
QueueReady = Callable[[Job], "Placement | str | None"]


class JobRunner:
    """Runs submitted jobs in worker threads; owns the scratch root and every live attempt."""

    def __init__(self, endpoint_url: str, lock: threading.RLock,
                 queue_ready: QueueReady) -> None:
        self.endpoint_url = endpoint_url
        self.lock = lock
        self.queue_ready = queue_ready
        self.scratch_root = tempfile.mkdtemp(prefix="batchmagic-emulator-")
        # Daemon workers (not a ThreadPoolExecutor, whose threads the interpreter joins at exit
        # before atexit handlers run, which would keep an exiting kernel waiting on its jobs).
        self.pending: queue.Queue[Job] = queue.Queue()
        self._job_waiting = threading.Condition(lock)
        self.workers = 0
        self.idle = 0
        self.active: set[TaskAttempt] = set()
        self.closing = threading.Event()
        self._sinks: dict[str, LogSink] = {}

    def sink(self, region: str) -> LogSink:
        with self.lock:
            if region not in self._sinks:
                self._sinks[region] = LogSink(region)
            return self._sinks[region]

    def submit(self, job: Job) -> None:
        if job.array_size is not None:
            with self.lock:
                self._set(job, "PENDING")
            for child in job.children:
                self._enqueue(child)
        else:
            self._enqueue(job)

    def _enqueue(self, job: Job) -> None:
        with self.lock:
            self.pending.put(job)
            if self.idle < self.pending.qsize() and self.workers < MAX_RUNNING_JOBS:
                self.workers += 1
                self.idle += 1
                threading.Thread(target=self._work, name=f"batch-job-{self.workers}",
                                 daemon=True).start()
            self._job_waiting.notify()

    def _take(self) -> Job | None:
        """The next job, or None once closing. Taking a job and leaving the idle count happen
        under the lock that ``_enqueue`` counts under: otherwise a job submitted just as a
        worker took another could find that worker still counted idle, start no new worker,
        and wait until some running job ends."""
        with self._job_waiting:
            while self.pending.empty():
                if self.closing.is_set():
                    return None
                self._job_waiting.wait(0.5)
            self.idle -= 1
            return self.pending.get_nowait()

    def _work(self) -> None:
        while not self.closing.is_set():
            job = self._take()
            if job is None:
                return
            if not self.closing.is_set():
                self._guarded(job)
            with self.lock:
                self.idle += 1

    def _guarded(self, job: Job) -> None:
        try:
            self._run(job)
        except Exception as exc:  # an emulator bug must not leave a job RUNNING forever
            traceback.print_exc(file=sys.stderr)
            self._finish(job, "FAILED", f"Emulator error: {type(exc).__name__}: {exc}")

    def _set(self, job: Job, status: str, reason: str | None = None) -> None:
        job.status = status
        if reason is not None:
            job.status_reason = reason

    def _run(self, job: Job) -> None:
        with self.lock:
            self._set(job, "PENDING")
            self._set(job, "RUNNABLE")
        ce_name = self._wait_runnable(job)
        if ce_name is None:
            self._finish(job, "FAILED", job.stop_reason or AttemptEnd.EMULATOR_STOPPED.value)
            return
        if job.launch_failure is not None:  # accepted by SubmitJob, refused at launch
            self._finish(job, "FAILED", job.launch_failure)
            return
        reason = AttemptEnd.ESSENTIAL_EXITED.value
        for attempt in range(1, job.retry_attempts + 1):
            if job.stop_event.is_set() or self.closing.is_set():
                break
            result = self._attempt(job, attempt, ce_name)
            reason = result.reason
            if result.succeeded:
                self._finish(job, "SUCCEEDED", reason)
                return
            if result.final or not self._should_retry(job, reason):
                break
        self._finish(job, "FAILED", job.stop_reason or reason)

    def _should_retry(self, job: Job, status_reason: str) -> bool:
        """retryStrategy.evaluateOnExit: the first matching rule decides; none -> retry."""
        rules = (job.request.get("retryStrategy") or {}).get("evaluateOnExit") or []
        essential = [r for r in job.runs if r.spec.essential] or job.runs
        failed = next((r for r in essential if r.exit_code != 0), essential[0])
        values = {"onExitCode": "" if failed.exit_code is None else str(failed.exit_code),
                  "onReason": failed.reason or "", "onStatusReason": status_reason}
        for rule in rules:
            # Patterns may end with * (a prefix match); absent criteria match everything.
            if all(fnmatch.fnmatchcase(values[key], str(rule[key]))
                   for key in values if key in rule):
                return str(rule.get("action", "")).upper() == "RETRY"
        return True

    def _wait_runnable(self, job: Job) -> str | None:
        """Wait in RUNNABLE until the queue and a compute environment are VALID and ENABLED
        (``queue_ready`` gives a statusReason while the job cannot be placed at all)."""
        while not (job.stop_event.is_set() or self.closing.is_set()):
            ready = self.queue_ready(job)
            if isinstance(ready, Placement):
                return ready.ce_name
            if ready is not None:
                with self.lock:
                    job.status_reason = ready
            time.sleep(0.02)
        return None

    def _attempt(self, job: Job, attempt: int, ce_name: str) -> AttemptResult:
        with self.lock:
            if job.stop_event.is_set():
                return AttemptResult(False, AttemptEnd.STOPPED,
                                     job.stop_reason or AttemptEnd.STOPPED.value)
            cluster = f"AWSBatch-{ce_name}"
            job.task_arn = f"arn:aws:ecs:{job.region}:{ACCOUNT_ID}:task/{cluster}/{new_task_id()}"
            job.runs = [ContainerRun(spec) for spec in job.specs]
            self._set(job, "STARTING")
        started = now_ms()
        deadline = time.monotonic() + job.timeout_s if job.timeout_s else None
        with self.lock:
            if self.closing.is_set():
                return AttemptResult(False, AttemptEnd.EMULATOR_STOPPED,
                                     AttemptEnd.EMULATOR_STOPPED.value)
            task = TaskAttempt(job, attempt, endpoint_url=self.endpoint_url,
                               sink=self.sink(job.region), scratch_root=self.scratch_root,
                               ce_name=ce_name, lock=self.lock,
                               on_running=lambda: self._running(job))
            self.active.add(task)
        try:
            result = task.run(deadline)
        finally:
            with self.lock:
                self.active.discard(task)
        with self.lock:
            if result.end is AttemptEnd.TIMED_OUT and not job.stop_reason:
                job.stop_reason = result.reason
            job.attempts.append(job.attempt_record(started, job.stop_reason or result.reason))
        return result

    def _running(self, job: Job) -> None:
        with self.lock:
            job.started_at = now_ms()
            self._set(job, "RUNNING")

    def _finish(self, job: Job, status: str, reason: str) -> None:
        with self.lock:
            if job.on_release is not None:
                job.on_release()
                job.on_release = None
            job.stopped_at = now_ms()
            self._set(job, status, reason)
            parent = job.parent
            if parent is not None and all(c.status in TERMINAL for c in parent.children):
                failed = any(c.status == "FAILED" for c in parent.children)
                parent.stopped_at = now_ms()
                self._set(parent, "FAILED" if failed else "SUCCEEDED",
                          "Array Child Job failed" if failed else "Array job completed")

    def shutdown(self) -> None:
        """Kill every running container (whole process groups) and remove all scratch dirs."""
        self.closing.set()
        with self.lock:
            tasks = list(self.active)
        for task in tasks:
            task.kill_now()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with self.lock:
                if not self.active:
                    break
            time.sleep(0.02)
        shutil.rmtree(self.scratch_root, ignore_errors=True)

"""A job that waits to start: diagnosed once after ``diagnose_after`` seconds (shown under the
cell and kept in ``run.diagnosis``), cancelled after ``runnable_timeout`` seconds."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from batchmagic.aws.describer import JobDescriber
from batchmagic.run.diagnosis import NOT_STARTED, Diagnosis, diagnose

if TYPE_CHECKING:
    from batchmagic.run.handle import Run

POLL_SECONDS = 0.5


class StartWatch:
    """Watches one run until its job starts (RUNNING) or ends."""

    def __init__(self, run: Run, diagnose_after: float, runnable_timeout: float | None) -> None:
        self.run = run
        self.diagnose_after = diagnose_after
        self.runnable_timeout = runnable_timeout
        self.timed_out = False
        self._began = time.monotonic()

    def start(self) -> None:
        threading.Thread(target=self._watch, daemon=True,
                         name=f"batchmagic-start-{self.run.job_id}").start()

    def _waiting(self) -> bool:
        snapshot = self.run.snapshot
        return snapshot is None or snapshot.status.value in NOT_STARTED

    def _diagnose(self) -> Diagnosis | None:
        job = JobDescriber.of(self.run.clients).describe(self.run.job_id)
        if job is None or job["status"] not in NOT_STARTED:
            return None
        return diagnose(self.run.clients, job)

    def _watch(self) -> None:
        run = self.run
        while not run.done_event.wait(POLL_SECONDS):
            if not self._waiting():
                return
            waited = time.monotonic() - self._began
            try:
                if run.diagnosis is None and waited >= self.diagnose_after:
                    run.diagnosis = self._diagnose()
                    if run.diagnosis is not None:
                        run.display.note(f"not started after {waited:.0f} s: {run.diagnosis}")
                if self.runnable_timeout is not None and waited >= self.runnable_timeout:
                    run.diagnosis = run.diagnosis or self._diagnose()
                    self.timed_out = True
                    run.cancel(f"did not start within {self.runnable_timeout:g} s "
                               "(--runnable-timeout)")
                    return
            except Exception as error:  # a diagnosis must never break the run it watches
                run.display.note(f"could not diagnose the wait: {error}")
                return

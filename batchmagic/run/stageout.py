"""Stage-out has a time budget of its own.

Batch's timeout covers the whole attempt, so a stage-out that copies far more than expected (a
cell that wrote millions of files) would hold the job - and its bill - until that timeout. Once
``main`` has exited, stage-out gets ``$BATCHMAGIC_STAGE_OUT_BUDGET`` seconds (default 1800);
past that the job is terminated, what was copied so far still comes back, and the run says so.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from batchmagic.aws.job import JobSnapshot
from batchmagic.jobdef import layout

DEFAULT_BUDGET_S = 1800.0


def stage_out_budget() -> float:
    try:
        return float(os.environ.get("BATCHMAGIC_STAGE_OUT_BUDGET", DEFAULT_BUDGET_S))
    except ValueError:
        return DEFAULT_BUDGET_S


class StageOutBudget:
    """Fed the job's snapshots (which come only when the job changes): once main has exited,
    a timer of ``budget_s`` runs; if stage-out has not ended by then, the job is terminated
    once and ``on_overrun`` gets the warning."""

    def __init__(self, terminate: Callable[[str], None], on_overrun: Callable[[str], None],
                 budget_s: float | None = None) -> None:
        self._terminate = terminate
        self._on_overrun = on_overrun
        self.budget_s = stage_out_budget() if budget_s is None else budget_s
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._over = False
        self.exceeded = False

    def check(self, snapshot: JobSnapshot) -> None:
        main = snapshot.container(layout.MAIN)
        out = snapshot.container(layout.STAGE_OUT)
        if main is None or out is None or main.exit_code is None:
            return
        with self._lock:
            if out.exit_code is not None or snapshot.status.is_terminal:
                self._over = True
                if self._timer is not None:
                    self._timer.cancel()
            elif self._timer is None and not self._over:
                self._timer = threading.Timer(self.budget_s, self._fire)
                self._timer.daemon = True
                self._timer.start()

    def stop(self) -> None:
        """The run is over: the timer never fires."""
        with self._lock:
            self._over = True
            if self._timer is not None:
                self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            if self._over:
                return
            self._over = self.exceeded = True
        reason = f"stage-out exceeded its time budget of {self.budget_s:g} s"
        try:
            self._terminate(reason)
        except Exception as error:  # the job may have ended meanwhile: nothing to stop
            self._on_overrun(f"{reason}; stopping the job failed: {error}")
            return
        self._on_overrun(f"{reason} and the job was stopped; the files it had copied come "
                         "back, the rest stayed in the job (BATCHMAGIC_STAGE_OUT_BUDGET sets "
                         "the budget)")

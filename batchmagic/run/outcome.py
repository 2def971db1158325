"""What happened to a run, as the user cares about it — not Batch's job status.

Only ``stage-out`` is essential, so Batch says SUCCEEDED for a job whose cell raised; and a job
that Batch reports FAILED may have been cancelled, timed out or killed for memory. The outcome
reads the job snapshot, the bootstrap's ``result.json`` and what the kernel did (a cancel) and
names it; :func:`judge` is the one place that decides.

AWS facts used:

- A job stopped by its ``timeout.attemptDurationSeconds`` has the status reason
  ``Job attempt duration exceeded timeout`` (AWS Batch user guide, "Job timeouts").
- A container killed by the kernel's OOM killer exits 137 (128 + SIGKILL); ECS adds the reason
  ``OutOfMemoryError: Container killed due to memory usage`` when it knows (ECS "stopped tasks
  errors" troubleshooting page). Exit 137 without that reason is most often memory too.
- TerminateJob sends SIGTERM to the containers; the bootstrap records it as ``JobTerminated``
  and exits 143.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from batchmagic.aws.job import JobSnapshot, JobStatus
from batchmagic.jobdef import layout
from batchmagic.run.outputs import CellResult

TIMEOUT_REASON = "Job attempt duration exceeded timeout"
KILLED_EXIT_CODE = 137
TERMINATED_EXCEPTION = "JobTerminated"


class Outcome(str, Enum):
    """How a run ended (or where it is). The value is what the widget's badge says."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    CELL_FAILED = "cell failed"
    KILLED = "killed"
    STAGE_IN_FAILED = "stage-in failed"
    STAGE_OUT_FAILED = "stage-out failed"
    TERMINATED = "terminated"
    TIMED_OUT = "timed out"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value

    @property
    def is_final(self) -> bool:
        return self not in (Outcome.PENDING, Outcome.RUNNING)

    @property
    def ok(self) -> bool:
        return self is Outcome.SUCCEEDED


@dataclass(frozen=True)
class Verdict:
    """An outcome with its detail: ``cell failed (ValueError)``, ``killed (out of memory?)``."""

    outcome: Outcome
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.outcome} ({self.detail})" if self.detail else str(self.outcome)


def _exit(code: int | None, reason: str | None) -> str:
    return f"exit {code}" + (f": {reason}" if reason else "")


def judge(snapshot: JobSnapshot | None, cell: CellResult, *, ended: bool,
          cancelled: bool = False, error: str | None = None) -> Verdict:
    """The outcome of a run from its latest snapshot. ``ended``: the run was followed to its end
    (outputs collected); ``cancelled``: this kernel asked for TerminateJob; ``error``: the run's
    own error message, if any (staging, a missing --pull variable…)."""
    if snapshot is None or not snapshot.status.is_terminal:
        if snapshot is not None and snapshot.status is JobStatus.RUNNING:
            return Verdict(Outcome.RUNNING)
        return Verdict(Outcome.PENDING)
    main = snapshot.container(layout.MAIN)
    stage_in = snapshot.container(layout.STAGE_IN)
    stage_out = snapshot.container(layout.STAGE_OUT)
    main_code = main.exit_code if main is not None else None
    main_reason = main.reason if main is not None else None
    if snapshot.status_reason == TIMEOUT_REASON:
        return Verdict(Outcome.TIMED_OUT, f"Batch: {snapshot.status.value}")
    if cancelled or (cell.exception_type or "").endswith(TERMINATED_EXCEPTION):
        return Verdict(Outcome.TERMINATED)  # the reason given is in the summary
    if stage_in is not None and stage_in.exit_code not in (0, None):
        return Verdict(Outcome.STAGE_IN_FAILED, _exit(stage_in.exit_code, stage_in.reason))
    if main_code == KILLED_EXIT_CODE or "OutOfMemory" in (main_reason or ""):
        sure = "OutOfMemory" in (main_reason or "")
        return Verdict(Outcome.KILLED, "out of memory" if sure else "out of memory?")
    if cell.exception_type:
        return Verdict(Outcome.CELL_FAILED, cell.exception_type.rsplit(".", 1)[-1])
    if main_code not in (0, None):
        return Verdict(Outcome.CELL_FAILED, _exit(main_code, main_reason))
    if main_code is None:
        return Verdict(Outcome.FAILED, main_reason or snapshot.status_reason or
                       "the main container never ran")
    if stage_out is not None and stage_out.exit_code not in (0, None):
        return Verdict(Outcome.STAGE_OUT_FAILED, _exit(stage_out.exit_code, stage_out.reason))
    if error:  # the message without the "; job NAME (ID)" the summary line already names
        error = error.rsplit("; job ", 1)[0]
        return Verdict(Outcome.FAILED, error if len(error) <= 80 else error[:79] + "…")
    if not ended:
        return Verdict(Outcome.RUNNING)  # the job ended; its outputs are still coming back
    return Verdict(Outcome.SUCCEEDED)

"""How a finished run failed, in one line: its setup failed, the cell raised, a container
failed, the job never started, results are missing, or a pulled variable was not left."""

from __future__ import annotations

from typing import TYPE_CHECKING

from batchmagic.aws.job import JobSnapshot, JobStatus
from batchmagic.errors import JobFailedError
from batchmagic.jobdef import layout
from batchmagic.run.exitdiag import ended_early_message, killed_message
from batchmagic.run.stages import TAIL_LINES, main_never_started
from batchmagic.run.startwatch import StartWatch

if TYPE_CHECKING:
    from batchmagic.run.handle import Run


def failure(run: Run, snapshot: JobSnapshot, watch: StartWatch | None,
            never_collected: bool = False) -> JobFailedError | None:
    """Why a finished run failed (the error its ``wait()`` raises), or None if it did not.
    ``never_collected``: result.json is missing although the run's ``in/`` is still there."""
    where = f"job {run.job_name} ({run.job_id})"
    if watch is not None and watch.timed_out:
        return JobFailedError(
            f"{where} did not start within {watch.runnable_timeout:g} s and was cancelled: "
            f"{run.diagnosis or 'no cause found'}", run)
    cell = run.cell_result
    if cell.exception_type in layout.SETUP_ERROR_TYPES:
        return JobFailedError(
            f"the job's setup failed, the cell did not run: {cell.exception_message}; "
            f"{where}", run)
    if cell.exception_type:
        return JobFailedError(
            f"{cell.exception_type}: {cell.exception_message} - the cell raised remotely; "
            f"main exited {run.exit_code}; {where}", run)
    stage_in = run.logbook.container(layout.STAGE_IN).tail(TAIL_LINES)
    if (never := main_never_started(snapshot, stage_in)) is not None:
        return JobFailedError(f"{never}; {where}", run)
    killed = killed_message(run.exit_code, snapshot.raw, where)
    if killed is not None:
        return JobFailedError(killed, run)
    if snapshot.status is JobStatus.FAILED or (run.exit_code not in (0, None)):
        parts = [f"{c.name}: " + (f"exit {c.exit_code}" if c.exit_code is not None
                                  else "no exit code") + (f" ({c.reason})" if c.reason else "")
                 for c in snapshot.containers]
        return JobFailedError(
            f"{where} {snapshot.status.value}: {snapshot.status_reason or 'no reason given'}"
            f" [{'; '.join(parts)}]", run)
    if run.exit_code is None:
        return JobFailedError(f"{where}: the main container never ran", run)
    if cell.ok is None and run.record.ended_at is not None:
        return None  # collected before (the ledger says when): the run shows that record
    if cell.ok is None and never_collected:
        return JobFailedError(ended_early_message(where), run)
    if cell.ok is None:
        return JobFailedError(
            f"{where}: no results under {run.location.out_uri} - already collected by "
            "an earlier run or attach (the prefix is deleted unless --keep)", run)
    missing = [n for n in run.record.pull if n not in run.pulled]
    if missing:
        detail = "; ".join(f"{n}: {r}" for n, r in cell.unpicklable_pull.items())
        return JobFailedError(
            f"--pull: the cell did not leave {', '.join(missing)}"
            + (f" ({detail})" if detail else "") + f"; {where}", run)
    return None

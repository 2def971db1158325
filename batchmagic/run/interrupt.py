"""What a Ctrl-C says: one line naming what was stopped and what was kept.

An interrupt never waits for the job to wind down: TerminateJob is sent (or the download is
cancelled), the cell returns within about two seconds, and the run's background thread
finishes on its own - without downloading anything more or binding any variable later.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from batchmagic.aws.staging import RunLocation
from batchmagic.errors import interrupted

RETURN_WITHIN_S = 1.5
"""How long an interrupted cell waits for the run to settle before it returns."""


class Interrupted(Protocol):
    job_id: str
    job_name: str
    location: RunLocation
    files: list[Path]

    @property
    def status(self) -> str: ...


def interrupt_summary(run: Interrupted, *, phase: str, was: str | None = None) -> str:
    """The one line of an interrupted run, for the phase it was in; ``was`` is the job's
    status when the interrupt came (the run's own has moved on once TerminateJob landed)."""
    attach = f"%aws_batch_attach {run.job_id}"
    where = f"job {run.job_name} ({run.job_id})"
    if phase == "download":
        arrived = ", ".join(p.name for p in run.files[:5]) + (
            f" and {len(run.files) - 5} more" if len(run.files) > 5 else "")
        return (f"download stopped: {len(run.files)} files arrived"
                + (f" ({arrived})" if run.files else "")
                + f", no variables were bound; the rest stays under {run.location.out_uri} - "
                f"{attach} fetches it")
    return (f"{where} terminated (was {was or run.status}); its logs so far are in run.logs, its "
            f"S3 prefix {run.location.out_uri} is kept - {attach} fetches what it wrote")


def array_interrupt_summary(job_name: str, job_id: str) -> str:
    """The one line of an interrupted ``--map`` run (every child is terminated)."""
    return (f"array job {job_name} ({job_id}) terminated, all its children; "
            f"%aws_batch_attach {job_id} gathers what finished")


@contextlib.contextmanager
def preparing() -> Iterator[None]:
    """Ctrl-C while a run is prepared (checks, package index lookups, the template): one line,
    as in every other phase, instead of a traceback through the checks."""
    try:
        yield
    except KeyboardInterrupt:
        raise interrupted("interrupted while preparing the run (checks, packages): nothing was "
                          "uploaded or submitted") from None


def interrupted_before_start(phase: str | None, in_uri: str) -> str:
    """The one line of a Ctrl-C before the job existed (upload) or while it was submitted."""
    if phase == "submit":
        return ("interrupted while submitting: the job may have been created; %aws_batch_jobs "
                f"lists it (its inputs under {in_uri} were deleted, so it fails at stage-in)")
    return f"upload interrupted: nothing was submitted, and {in_uri} was deleted"

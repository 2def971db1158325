"""What a kernel shutdown does to the runs still going: ``on_shutdown`` decides."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from batchmagic.run.handle import Run
from batchmagic.run.maprun import MapRun


def on_kernel_exit(runs: Sequence[Run | MapRun], policy: str) -> None:
    """``terminate`` the jobs still running, or ``leave`` them with a line on how to reattach."""
    for run in [run for run in runs if not run.done]:
        if policy == "terminate":
            run.cancel("Kernel shut down")
            print(f"batchmagic: job {run.job_name} ({run.job_id}) terminated as the kernel shut "
                  "down (on_shutdown = terminate)", file=sys.stderr, flush=True)
        else:
            print(f"batchmagic: job {run.job_name} ({run.job_id}) keeps running; "
                  f"reattach with %aws_batch_attach {run.job_id}", file=sys.stderr, flush=True)

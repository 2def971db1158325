"""Diagnoses that point the right way when the cell's process ended badly.

- exit 137 is SIGKILL (128 + 9): on AWS Batch and in Docker that is almost always the kernel's
  out-of-memory killer (https://docs.aws.amazon.com/batch/latest/userguide/
  troubleshooting.html#job_stuck_in_runnable mentions memory; ECS reports OutOfMemoryError
  only sometimes), so the message names the container's memory and a bigger --memory;
- no result.json although the job's ``in/`` is still there: the run was never collected, so
  the cell ended its own process (``os._exit``) before the bootstrap could save anything;
- a pulled value whose class was defined in the cell cannot be rebuilt in the kernel (pickle
  stores classes by module and name, and the cell's ``__main__`` is not the kernel's).
"""

from __future__ import annotations

import re
import time
from typing import Any

from batchmagic.jobdef import layout
from batchmagic.ledger import RunRecord

SIGKILL_EXIT = 137
_CELL_CLASS = re.compile(r"Can't get attribute '([^']+)' on <module '__main__'")


def container_memory(raw: dict[str, Any], name: str | None = None) -> int | None:
    """MiB of one container (or of the whole task) as DescribeJobs reports it."""
    tasks = (raw.get("ecsProperties") or {}).get("taskProperties") or []
    containers = tasks[0].get("containers") or [] if tasks else []
    total = 0
    for container in containers:
        if name is not None and container.get("name") != name:
            continue
        for requirement in container.get("resourceRequirements") or []:
            if requirement.get("type") == "MEMORY":
                total += int(float(requirement.get("value", 0)))
    return total or None


def killed_message(exit_code: int | None, raw: dict[str, Any], where: str) -> str | None:
    """The one line for a main container killed with SIGKILL, else None."""
    if exit_code != SIGKILL_EXIT:
        return None
    main = container_memory(raw, layout.MAIN)
    total = container_memory(raw)
    at = f" at {main} MiB" if main else ""
    advice = f" — try --memory {total * 2}" if total else " — try a bigger --memory"
    return f"main was killed (SIGKILL; out of memory{at}?){advice}; {where}"


def ended_early_message(where: str) -> str:
    return (f"the cell ended the process before batchmagic could save its results "
            f"(os._exit?); outputs written before that were still copied back; {where}")


def cell_class_message(error: BaseException) -> str | None:
    """The one line for a pulled object whose class exists only in the cell, else None."""
    found = _CELL_CLASS.search(str(error))
    if found is None:
        return None
    name = found.group(1)
    return (f"--pull: a value is a {name}, a class defined in the cell, which the kernel cannot "
            f"rebuild; run the definition of {name} in the kernel too (or import it from a "
            "module), or pull plain data (dicts, lists, arrays, DataFrames)")


def collected_before(record: RunRecord) -> str:
    """What an attach to a run that was already collected shows instead of a failure."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.ended_at or 0))
    return (f"already collected on {when} ({record.status}): its output files went to "
            f"{record.output_dir} and its pulled variables were bound then; the S3 prefix is "
            "deleted after a run unless --keep")

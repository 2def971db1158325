"""Why main never ran, said plainly.

``main`` depends on ``stage-in`` with SUCCESS. When stage-in fails, that dependency can never
hold, and the ECS agent stops main without starting it: exit code 143 and a reason such as
``CannotStartContainerError: dependency graph: failed to resolve container ordering dependency
[stage-in(...) (STOPPED->RUNNING) - Exit: 2] for target [main(...) ...]``
(aws/amazon-ecs-agent#3218). stage-out depends on main with COMPLETE, so it still runs and the
job can even SUCCEED. Read raw, that is "main exit code 143"; this module says instead
"main never started: stage-in failed, exit 2: <stage-in's last log lines>".
"""

from __future__ import annotations

from collections.abc import Sequence

from batchmagic.aws.job import JobSnapshot
from batchmagic.jobdef.layout import MAIN, STAGE_IN

# How many of stage-in's last log lines the message quotes.
TAIL_LINES = 3
_CANNOT_START = "CannotStartContainerError"


def main_never_started(snapshot: JobSnapshot | None,
                       stage_in_lines: Sequence[str]) -> str | None:
    """The plain reason main never ran, or None when it ran (or the job is not over);
    ``stage_in_lines``: stage-in's last log lines."""
    if snapshot is None:
        return None
    main = snapshot.container(MAIN)
    if main is None or main.log_stream is not None:
        return None
    reason = main.reason or ""
    if not reason.startswith(_CANNOT_START):
        return None
    stage_in = snapshot.container(STAGE_IN)
    if "dependency" in reason and stage_in is not None and stage_in.exit_code not in (0, None):
        lines = [line.strip() for line in stage_in_lines if line.strip()]
        quoted = " / ".join(lines[-TAIL_LINES:])
        return (f"main never started: stage-in failed, exit {stage_in.exit_code}"
                + (f": {quoted}" if quoted else ""))
    return f"main never started: {reason}"

"""Every process a container started, found by a marker in its environment, also after
``setsid`` and double forks.

A container's processes form a process group, but a program can leave it (``setsid``,
``setpgid``, a daemon's double fork) and would survive TerminateJob and the emulator; on AWS the
container's cgroup takes them all down. Each container process gets ``BATCHMAGIC_CONTAINER=
<task>/<container>/`` in its environment, which children inherit whatever group or session they
move to; termination signals every process of this user whose environment carries the marker
(read from ``/proc/PID/environ``). A process that clears its own environment escapes - the
limit of doing without cgroups. Where ``/proc`` is missing (macOS), only process groups are
signalled.
"""

from __future__ import annotations

import contextlib
import os

MARKER = "BATCHMAGIC_CONTAINER"


def marker_value(task: str, container: str = "") -> str:
    """``task/container/``, or ``task/`` (a prefix of all the task's containers' markers)."""
    return f"{task}/{container}/" if container else f"{task}/"


def marked_processes(prefix: str) -> list[int]:
    """PIDs whose environment has ``BATCHMAGIC_CONTAINER`` starting with ``prefix``."""
    wanted = f"{MARKER}={prefix}".encode()
    own = os.getpid()
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit() or int(entry) == own:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read()
        except OSError:  # gone, or another user's
            continue
        if any(item.startswith(wanted) for item in environ.split(b"\0")):
            found.append(int(entry))
    return found


def kill_marked(prefix: str, sig: int) -> int:
    """Send ``sig`` to every marked process; how many there were."""
    pids = marked_processes(prefix)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    return len(pids)

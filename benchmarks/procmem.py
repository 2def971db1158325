"""Helpers of the footprint benchmarks: resident memory of processes (Linux /proc). The fresh
user's environment and the results table are the harness's (``benchmarks/harness.py``)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

MiB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Resident memory of processes (Linux /proc)


def rss(pid: int) -> int:
    """Resident bytes of one process (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree_rss(pid: int) -> tuple[int, int]:
    """(resident bytes of ``pid``, of its resident children: the warm AWS CLI, running jobs)."""
    return rss(pid), sum(rss(child) for child in children(pid))


class PeakSampler:
    """Samples a value every ``every`` seconds in a thread and keeps the maximum."""

    def __init__(self, read: Any, every: float = 0.05) -> None:
        self.read, self.every, self.peak = read, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.read())
            self._stop.wait(self.every)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.read())


def mb(n: float) -> str:
    return f"{n / MiB:.0f} MiB"


def settle(read: Any, seconds: float = 3.0) -> int:
    """The value once it stopped falling (freed memory is returned over a moment)."""
    time.sleep(seconds)
    return int(read())

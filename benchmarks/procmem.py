"""Helpers of the footprint benchmarks: resident memory of processes (Linux /proc), a fresh
user's isolated environment, the results table."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MiB = 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Output, isolation


@dataclass
class Row:
    metric: str
    ours: str
    baseline: str
    ratio: str
    target: str
    ok: bool | None


def say(text: str = "") -> None:
    print(text, file=sys.__stdout__, flush=True)


def table(rows: list[Row]) -> str:
    head = ("metric", "batchmagic", "baseline", "ratio", "target", "pass/fail")
    body = [(r.metric, r.ours, r.baseline, r.ratio, r.target,
             "-" if r.ok is None else ("PASS" if r.ok else "FAIL")) for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *(line(b) for b in body)])


def isolate(root: Path) -> None:
    """Per-user state of a fresh user under ``root``; no AWS settings from this machine."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "BATCHMAGIC_")):
            del os.environ[name]
    os.environ.update({
        "BATCHMAGIC_STATE_DIR": str(root / "state"),
        "BATCHMAGIC_CONFIG": str(root / "config" / "settings.json"),
        "IPYTHONDIR": str(root / "ipython"),
        "AWS_CONFIG_FILE": str(root / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "aws-credentials"),
    })


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

"""Where a run's time went: ``run.timeline``, its phases in order, each with a start and a duration.

The phases cover the run without gaps or overlaps, from the moment the cell started to the moment
the run was over, so their durations add up to the run's wall time:

=========== ===================================================== ===========================
phase       from                                                  clock
=========== ===================================================== ===========================
prepare     the cell starts (checks, template, environment,       kernel
            target, queue and job definition resolution)
upload      the first input goes out                              kernel
submit      the upload is over (SubmitJob)                        kernel
queue       SubmitJob has returned (SUBMITTED, PENDING, RUNNABLE, kernel
            STARTING: scheduling, image pulls)
stage-in    the job starts (DescribeJobs ``startedAt``)           Batch
main        the bootstrap starts in the main container            container
stage-out   the cell is over (bootstrap's end, or the last line   container
            of the main container's log stream); lasts until the
            kernel has seen the job stop and read its last lines
download    the kernel starts downloading the outputs             kernel
cleanup     the outputs are back (run prefix deleted, ledger)     kernel
=========== ===================================================== ===========================

Times from Batch and the containers come from other clocks than the kernel's: each is clamped
between the kernel's own marks around it, so a skewed clock can shorten a phase, never reorder
the phases or make one negative. A run reattached with ``%aws_batch_attach`` starts at ``queue``
(Batch's ``createdAt``); phases whose boundary is unknown (a job terminated before its cell
started) are merged into the one before.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

from batchmagic.aws.job import JobSnapshot

PHASES = ("prepare", "upload", "submit", "queue", "stage-in", "main", "stage-out", "download",
          "cleanup")
# Where each phase's start comes from: the kernel's clock, or the job's (Batch, containers).
KERNEL_PHASES = frozenset({"prepare", "upload", "submit", "download", "cleanup"})


@dataclass(frozen=True)
class Phase:
    """One phase of a run: ``name``, ``start`` (epoch seconds) and ``duration`` (seconds)."""

    name: str
    start: float
    duration: float

    @property
    def end(self) -> float:
        return self.start + self.duration

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "start": self.start, "duration": self.duration}

    def __repr__(self) -> str:
        at = dt.datetime.fromtimestamp(self.start).strftime("%H:%M:%S.%f")[:-3]
        return f"Phase({self.name!r}, start={at}, duration={self.duration:.3f} s)"


class Timeline(Sequence[Phase]):
    """The phases of a run, in order; a sequence of :class:`Phase` (``timeline[0]``,
    ``timeline["main"]``, ``[p.name for p in timeline]``, ``sum(p.duration for p in timeline)``).
    """

    def __init__(self, phases: Iterable[Phase] = ()) -> None:
        self._phases = tuple(phases)

    @overload
    def __getitem__(self, index: int) -> Phase: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Phase]: ...
    @overload
    def __getitem__(self, index: str) -> Phase: ...

    def __getitem__(self, index: int | slice | str) -> Phase | Sequence[Phase]:
        if isinstance(index, str):
            for phase in self._phases:
                if phase.name == index:
                    return phase
            raise KeyError(index)
        return self._phases[index]

    def __len__(self) -> int:
        return len(self._phases)

    def __iter__(self) -> Iterator[Phase]:
        return iter(self._phases)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Timeline):
            return self._phases == other._phases
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._phases)

    @property
    def names(self) -> list[str]:
        return [phase.name for phase in self._phases]

    @property
    def total(self) -> float:
        """Seconds from the start of the first phase to the end of the last."""
        return sum(phase.duration for phase in self._phases)

    def as_dict(self) -> dict[str, float]:
        """``{phase name: duration}``, in order."""
        return {phase.name: phase.duration for phase in self._phases}

    def to_list(self) -> list[dict[str, Any]]:
        """One ``{"name", "start", "duration"}`` dict per phase (``pandas.DataFrame(...)``)."""
        return [phase.as_dict() for phase in self._phases]

    def to_tuples(self) -> tuple[tuple[str, float, float], ...]:
        return tuple((p.name, p.start, p.duration) for p in self._phases)

    @classmethod
    def from_tuples(cls, rows: Iterable[Sequence[Any]]) -> Timeline:
        return cls(Phase(str(name), float(start), float(duration))
                   for name, start, duration in rows)

    def __repr__(self) -> str:
        if not self._phases:
            return "Timeline([])"
        width = max(len(p.name) for p in self._phases)
        lines = [f"  {p.name:<{width}}  {p.duration:9.3f} s" for p in self._phases]
        return f"Timeline(total {self.total:.3f} s\n" + "\n".join(lines) + "\n)"


class PhaseClock:
    """The kernel's marks: ``begin(name)`` ends the phase before; ``end()`` ends the last one.

    Thread-safe: the cell's thread marks prepare, upload and submit; the run's follower thread
    marks download, cleanup and the end.
    """

    def __init__(self, first: str | None = "prepare", *, clock: Any = time.time) -> None:
        self._clock = clock
        self._marks: dict[str, float] = {}
        self._ended: float | None = None
        self._lock = threading.Lock()
        if first is not None:
            self.begin(first)

    def begin(self, name: str, at: float | None = None) -> None:
        with self._lock:
            self._marks.setdefault(name, self._clock() if at is None else at)

    def end(self, at: float | None = None) -> None:
        with self._lock:
            if self._ended is None:
                self._ended = self._clock() if at is None else at

    def now(self) -> float:
        return float(self._clock())

    @property
    def marks(self) -> dict[str, float]:
        with self._lock:
            return dict(self._marks)

    @property
    def ended(self) -> float | None:
        return self._ended

    def timeline(self, job: JobTimes) -> Timeline:
        """The phases so far: these marks with the job's own times, up to the end (or now)."""
        end = self._ended
        return build_timeline(self.marks, job, self.now() if end is None else end)


@dataclass(frozen=True)
class JobTimes:
    """The job's own boundaries (epoch seconds), from DescribeJobs and the main container."""

    created: float | None = None
    started: float | None = None
    main_started: float | None = None
    main_ended: float | None = None

    @classmethod
    def of(cls, snapshot: JobSnapshot | None, main_started: float | None,
           main_ended: float | None) -> JobTimes:
        """The job's times from its latest snapshot, and main's from the cell or its log."""
        created = snapshot.created_at if snapshot is not None else None
        started = snapshot.started_at if snapshot is not None else None
        return cls(created.timestamp() if created else None,
                   started.timestamp() if started else None, main_started, main_ended)


def build_timeline(marks: Mapping[str, float], job: JobTimes, end: float) -> Timeline:
    """The phases from the kernel's ``marks`` and the job's times, ending at ``end`` (the run's
    end, or now while it is going: then the last phase is the current one, so far)."""
    job_starts = {"queue": job.created, "stage-in": job.started, "main": job.main_started,
                  "stage-out": job.main_ended}
    starts: list[tuple[str, float | None]] = []
    for name in PHASES:
        # SubmitJob's return on the kernel's clock starts the queue; Batch's createdAt when the
        # run was reattached and the kernel never saw it submitted.
        kernel = marks.get(name)
        starts.append((name, kernel if kernel is not None else job_starts.get(name)))
    known = [(name, at) for name, at in starts if at is not None]
    clamped: list[tuple[str, float]] = []
    for index, (name, at) in enumerate(known):
        low = clamped[-1][1] if clamped else float("-inf")
        later_kernel = [t for n, t in known[index + 1:] if n in marks]
        high = min([*later_kernel, end])
        if name not in marks:
            at = min(max(at, low), high)
        clamped.append((name, max(at, low)))
    bounds = [*(at for _, at in clamped[1:]), max(end, clamped[-1][1])] if clamped else []
    return Timeline(Phase(name, at, max(0.0, stop - at))
                    for (name, at), stop in zip(clamped, bounds, strict=True))

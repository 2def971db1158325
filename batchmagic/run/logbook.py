"""Every line of a run, per container: kept in memory up to a cap, the older ones in a file.

Progress bars: CloudWatch Logs (the awslogs driver) only ships complete lines, so the bootstrap
turns carriage-return updates (tqdm, keras, pip) into lines that start with ``\\r``, meaning
"this replaces the previous line". :func:`read_line` reads that convention; the log book, the
widget and the text display all apply it, so ``run.logs`` holds a progress bar's final state
only, however many updates were shown live.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

from batchmagic.jobdef.layout import CONTAINERS, MAIN
from batchmagic.settings import state_dir

REPLACE_MARK = "\r"
MEMORY_LINES = 100_000
"""Lines per container kept in memory; earlier ones are spilled to a file under the state dir."""


def read_line(message: str) -> tuple[str, bool]:
    """A log message as (text shown, replaces the previous line of its container).

    A message with carriage returns inside shows what a terminal (and Jupyter) would: the text
    after the last one that is followed by something.
    """
    replaces = message.startswith(REPLACE_MARK)
    if REPLACE_MARK in message:
        parts = [part for part in message.split(REPLACE_MARK) if part]
        message = parts[-1] if parts else ""
    return message, replaces


def spill_dir() -> Path:
    return state_dir() / "logs"


class ContainerLog(Sequence[str]):
    """The lines of one container, in order; reads like a list of str (``run.logs``).

    The last ``memory_lines`` lines stay in memory; older ones go, in order, to a JSON-lines file
    that is removed when the log is garbage-collected (or at exit).
    """

    def __init__(self, name: str, *, memory_lines: int = MEMORY_LINES,
                 spill_to: Path | None = None) -> None:
        self.name = name
        self._memory_lines = max(2, memory_lines)
        self._spill_to = spill_to
        self._recent: list[str] = []
        self._spilled = 0
        self._file: Path | None = None
        self._lock = threading.Lock()

    # --- writing ---------------------------------------------------------------------------
    def add(self, message: str) -> None:
        """Append a log message, or replace the last line when it starts with ``\\r``."""
        text, replaces = read_line(message)
        with self._lock:
            if replaces and self._recent:
                self._recent[-1] = text
            else:
                self._recent.append(text)
                if len(self._recent) > self._memory_lines:
                    self._spill()

    def _spill(self) -> None:
        # Half of memory at a time, so spilling costs one write per memory_lines / 2 lines. The
        # last line stays in memory: a progress update may still replace it.
        count = self._memory_lines // 2
        if self._file is None:
            directory = self._spill_to or spill_dir()
            directory.mkdir(parents=True, exist_ok=True)
            self._file = directory / f"{os.getpid()}-{id(self):x}-{self.name}.jsonl"
            weakref.finalize(self, _remove, self._file)
        with self._file.open("a", encoding="utf-8") as out:
            out.writelines(json.dumps(line) + "\n" for line in self._recent[:count])
        del self._recent[:count]
        self._spilled += count

    # --- reading ---------------------------------------------------------------------------
    @property
    def spilled(self) -> int:
        """How many of the lines live in the spill file."""
        return self._spilled

    def __len__(self) -> int:
        return self._spilled + len(self._recent)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            spilled, recent, path = self._spilled, list(self._recent), self._file
        if path is not None and spilled:
            with path.open(encoding="utf-8") as lines:
                for index, raw in enumerate(lines):
                    if index >= spilled:
                        break
                    yield str(json.loads(raw))
        yield from recent

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if start >= self._spilled and step > 0:
                offset = self._spilled
                return self._recent[start - offset:stop - offset:step]
            return list(self)[index]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("log line index out of range")
        if index >= self._spilled:
            return self._recent[index - self._spilled]
        return next(line for i, line in enumerate(self) if i == index)

    def tail(self, count: int) -> list[str]:
        """The last ``count`` lines."""
        return self[max(0, len(self) - count):] if count > 0 else []

    def text(self) -> str:
        return "".join(line + "\n" for line in self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, ContainerLog)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if len(self) <= 20:
            return repr(list(self))
        return f"<{len(self)} lines of {self.name}: …{self.tail(3)!r}>"


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


class LogBook:
    """One :class:`ContainerLog` per container of a run."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._logs: dict[str, ContainerLog] = {}
        for name in CONTAINERS:
            self.container(name)

    def container(self, name: str) -> ContainerLog:
        log = self._logs.get(name)
        if log is None:
            log = self._logs[name] = ContainerLog(name, **self._options)
        return log

    @property
    def main(self) -> ContainerLog:
        return self.container(MAIN)

    def names(self) -> list[str]:
        return list(self._logs)

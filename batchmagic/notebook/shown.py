"""A run is shown once: by its display (the widget, or text), not again as the cell's ``Out[n]``.

In a Jupyter kernel, a run returned by the cell that started it is already on screen (the widget,
whose saved form carries the transcript), so IPython's display hook shows nothing more for it.
Shown again later (``run`` alone in another cell) it shows its display once more: the same live
widget, or its summary as text. Terminal IPython keeps the usual one-line ``Out[n]: <Run …>``.
"""

from __future__ import annotations

import weakref
from typing import Any

from batchmagic.run.handle import Run


class ShownRuns:
    """Which execution showed each run, and the display hook that keeps runs from showing twice."""

    def __init__(self, shell: Any) -> None:
        self._shell = shell
        self._shown_in: weakref.WeakKeyDictionary[Run, int] = weakref.WeakKeyDictionary()

    def add(self, run: Run) -> None:
        """``run`` is on screen under the cell being executed now."""
        self._shown_in[run] = self._execution_count()

    def register(self) -> None:
        """Take over how runs are shown by the display hook (in a Jupyter kernel only)."""
        if self._shell is None or not hasattr(self._shell, "kernel"):
            return
        formatter = self._shell.display_formatter.ipython_display_formatter
        formatter.for_type(Run, self.show)

    def show(self, run: Run) -> None:
        if self._shown_in.get(run) == self._execution_count():
            return  # the cell that started it shows it already
        self._shown_in[run] = self._execution_count()
        run.display.show_again(run)

    def _execution_count(self) -> int:
        return int(getattr(self._shell, "execution_count", 0) or 0)

"""How a ``--map`` run shows under its cell: one progress bar, a grid of children coloured by
outcome, a child's logs on click (failed children's automatically); text where there is no
widget frontend (counts as they change, a final table)."""

from __future__ import annotations

import html
import queue
import threading
from collections.abc import Callable
from typing import Any

from batchmagic.notebook.display import widgets_available
from batchmagic.notebook.format import format_elapsed
from batchmagic.run.mapchildren import ChildView
from batchmagic.run.maprun import MapRun
from batchmagic.run.view import MapDisplay

GRID_BUTTONS_UP_TO = 400  # children; beyond that the grid is drawn as coloured squares only
LOG_TAIL = 200
TABLE_ROWS = 50
STATE_STYLE = {"SUCCEEDED": "success", "FAILED": "danger", "RUNNING": "warning",
               "STARTING": "info", "RUNNABLE": "info"}


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else ("ren" if noun == "child" else "s"))


def counts_line(run: MapRun) -> str:
    done = len(run.items)
    states = " · ".join(f"{state} {count}" for state, count in sorted(run.counts.items()))
    failed = len(run.failed)
    return (f"{done}/{run.plan.count} items done" + (f", {failed} failed" if failed else "")
            + f" · children: {states or run.status}")


def child_outcome(run: MapRun, child: ChildView) -> str:
    """The child's colour key: its state, or FAILED when one of its items failed."""
    items = [run.items.get(p) for p in child.items]
    if any(item is not None and not item.ok for item in items):
        return "FAILED"
    return child.status


def final_lines(run: MapRun) -> list[str]:
    """The summary and a table of items (all of them up to 50, else the failures)."""
    duration = f" in {format_elapsed(run.duration)}" if run.duration is not None else ""
    # Interrupted: the items it stopped did not fail, and the run raised KeyboardInterrupt.
    status = "interrupted" if run.interrupted else run.status
    lines = [f"{status}: {run.succeeded} of {plural(run.plan.count, 'item')} succeeded "
             f"on {plural(run.plan.children, 'child')}{duration}"]
    if run.error is not None and not run.interrupted:
        lines.append(f"error: {str(run.error).splitlines()[0]}")
    if run.cost is not None:
        lines.append(f"cost: {run.cost}")
    failed = run.failed
    shown = range(run.plan.count) if run.plan.count <= TABLE_ROWS else [
        run.indices.index(i) for i in failed][:TABLE_ROWS]
    if shown:
        lines.append(f"  {'item':>5}  {'child':>5}  result")
    for position in shown:
        index = run.indices[position]
        result = run.results[position]
        text = f"failed: {failed[index]}" if index in failed else repr(result)
        lines.append(f"  {index:>5}  {run.plan.child_of(position):>5}  {text[:100]}")
    if failed:
        again = "run the unfinished items" if run.interrupted else "retry the failures"
        lines.append(f"{again} with run.retry_failed(); a child's logs: run.children[i].logs")
    return lines


class TextMapDisplay:
    """Counts as they change and a final table, printed by the thread that waits."""

    def __init__(self, out: Callable[[str], None] | None = None) -> None:
        self._out = out or (lambda text: print(text, flush=True))
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._last = ""

    def attach(self, run: MapRun) -> None:
        self._queue.put(f"[batchmagic] {run.job_name} ({run.job_id}): "
                        f"{plural(run.plan.count, 'item')} on "
                        f"{plural(run.plan.children, 'child')} - "
                        f"{run.clients.target.describe()}")

    def progress(self, run: MapRun) -> None:
        line = counts_line(run)
        if line != self._last:
            self._last = line
            self._queue.put(f"[batchmagic] {line}")

    def note(self, text: str) -> None:
        self._queue.put(f"[batchmagic] {text}")

    def finished(self, run: MapRun) -> None:
        for child in [] if run.interrupted else run.children:
            if child_outcome(run, child) == "FAILED" and child._logs:
                self._queue.put(f"[batchmagic] child {child.index} ({child.job_id}), last lines:")
                for line in child._logs:
                    self._queue.put(f"  {line}")
        for line in final_lines(run):
            self._queue.put(f"[batchmagic] {line}")

    def flush(self) -> None:
        while True:
            try:
                text = self._queue.get_nowait()
            except queue.Empty:
                return
            self._out(text)


class WidgetMapDisplay:
    """Header, progress bar, children grid, the selected child's logs, summary."""

    def __init__(self) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self._widgets = widgets
        self._header = widgets.HTML()
        self._bar = widgets.IntProgress(min=0, max=1, value=0, bar_style="info",
                                        layout=widgets.Layout(width="60%"))
        self._grid = widgets.Box(layout=widgets.Layout(flex_flow="row wrap"))
        self._squares = widgets.HTML()
        self._logs = widgets.Output(layout=widgets.Layout(max_height="300px",
                                                          overflow="auto"))
        self._summary = widgets.HTML()
        self.box = widgets.VBox([self._header, self._bar, self._grid, self._squares,
                                 self._logs, self._summary])
        self._buttons: list[Any] = []
        self._run: MapRun | None = None
        self._transcript: list[str] = []
        self._handle = display(self._bundle(), raw=True, display_id=True)

    def _bundle(self) -> dict[str, Any]:
        bundle: dict[str, Any] = self.box._repr_mimebundle_()
        bundle["text/plain"] = "\n".join(self._transcript) or "batchmagic map run"
        return bundle

    def attach(self, run: MapRun) -> None:
        self._run = run
        self._bar.max = run.plan.count
        if run.plan.children <= GRID_BUTTONS_UP_TO:
            self._buttons = [self._child_button(child) for child in run.children]
            self._grid.children = self._buttons
        self._transcript.append(f"[batchmagic] {run.job_name} ({run.job_id}): "
                                f"{plural(run.plan.count, 'item')} on "
                                f"{plural(run.plan.children, 'child')}")
        self.progress(run)

    def _child_button(self, child: ChildView) -> Any:
        button = self._widgets.Button(description=str(child.index), tooltip=child.job_id,
                                      layout=self._widgets.Layout(width="44px",
                                                                  padding="0px"))
        button.on_click(lambda _b, c=child: threading.Thread(
            target=self._show_logs, args=(c,), daemon=True).start())
        return button

    def _show_logs(self, child: ChildView, lines: list[str] | None = None) -> None:
        shown = (lines if lines is not None else child.logs)[-LOG_TAIL:]
        text = f"child {child.index} ({child.job_id}), {child.status}:\n" + "".join(
            line + "\n" for line in shown)
        # One assignment: the pane holds this child's tail only (no growing output list).
        self._logs.outputs = ({"output_type": "stream", "name": "stdout", "text": text},)

    def progress(self, run: MapRun) -> None:
        self._bar.value = len(run.items)
        self._bar.bar_style = "danger" if run.failed else "info"
        self._header.value = (f"<b>{html.escape(run.job_name)}</b> "
                              f"<code>{html.escape(run.job_id)}</code> "
                              f"{html.escape(counts_line(run))} · "
                              f"{format_elapsed(run.elapsed())}")
        for button, child in zip(self._buttons, run.children, strict=True):
            button.button_style = STATE_STYLE.get(child_outcome(run, child), "")
        if not self._buttons:
            self._squares.value = "".join(
                f'<span title="{c.index}: {c.status}" style="display:inline-block;width:8px;'
                f'height:8px;margin:1px;background:{_colour(child_outcome(run, c))}"></span>'
                for c in run.children)

    def note(self, text: str) -> None:
        self._transcript.append(f"[batchmagic] {text}")
        self._summary.value = html.escape(text)

    def finished(self, run: MapRun) -> None:
        self.progress(run)
        self._bar.bar_style = ("warning" if run.interrupted else "danger" if run.failed
                               else "success")
        failed = [c for c in run.children if child_outcome(run, c) == "FAILED"]
        if failed and not run.interrupted:
            self._show_logs(failed[0], failed[0]._logs or [])
        lines = final_lines(run)
        self._summary.value = "<pre>" + html.escape("\n".join(lines)) + "</pre>"
        self._transcript += [f"[batchmagic] {line}" for line in lines]
        self._handle.update(self._bundle(), raw=True)

    def flush(self) -> None:
        """Widgets update themselves; nothing is queued."""


def _colour(outcome: str) -> str:
    return {"SUCCEEDED": "#198754", "FAILED": "#dc3545", "RUNNING": "#fd7e14"}.get(
        outcome, "#0d6efd" if outcome in ("RUNNABLE", "STARTING") else "#adb5bd")


def make_map_display(mode: str = "auto") -> MapDisplay:
    if mode == "widget" or (mode == "auto" and widgets_available()):
        return WidgetMapDisplay()
    return TextMapDisplay()

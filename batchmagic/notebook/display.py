"""What a run shows under its cell: a live widget when ipywidgets can be shown, text otherwise.

The widget is written from background threads with ``append_stdout``/``append_stderr`` and trait
assignments (never the Output context manager, which captures by message id and misroutes output
written from other threads). Its display carries a plain-text transcript that is refreshed when
the run ends, so a notebook executed headless (nbclient) keeps the log lines in its saved outputs.
"""

from __future__ import annotations

import html
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any

from batchmagic.jobdef.layout import CONTAINERS
from batchmagic.notebook.format import format_elapsed, header_facts, summary_lines
from batchmagic.run.handle import Run
from batchmagic.run.view import RunDisplay

BADGE_COLOURS = {
    "SUBMITTED": "#6c757d", "PENDING": "#6c757d", "RUNNABLE": "#0d6efd", "STARTING": "#0d6efd",
    "RUNNING": "#fd7e14", "SUCCEEDED": "#198754", "FAILED": "#dc3545",
}


class TextDisplay:
    """Plain text for terminal IPython and frontends without widgets.

    Lines are queued by background threads and printed by whoever calls ``flush`` (the thread
    waiting on the run), so they land in the right cell.
    """

    def __init__(self, out: Callable[[str], None] | None = None) -> None:
        self._out = out or (lambda text: print(text, flush=True))
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._last_status = ""

    def attach(self, run: Run) -> None:
        facts = header_facts(run)
        self._queue.put(f"[batchmagic] {run.job_name} ({run.job_id}) - {facts.get('where', '')}")

    def status(self, run: Run) -> None:
        if run.status != self._last_status:
            self._last_status = run.status
            self._queue.put(f"[batchmagic] {run.status} after {format_elapsed(run.elapsed())}")

    def lines(self, container: str, lines: list[str], stream: str = "stdout") -> None:
        prefix = "" if container == "main" else f"[{container}] "
        for line in lines:
            self._queue.put(prefix + line)

    def note(self, text: str) -> None:
        self._queue.put(f"[batchmagic] {text}")

    def finished(self, run: Run) -> None:
        for line in summary_lines(run):
            self._queue.put(f"[batchmagic] {line}")

    def show_again(self, run: Run) -> None:
        self._out(f"[batchmagic] {run.job_name} ({run.job_id})")
        for line in summary_lines(run):
            self._out(f"[batchmagic] {line}")

    def flush(self) -> None:
        while True:
            try:
                text = self._queue.get_nowait()
            except queue.Empty:
                return
            self._out(text)


class WidgetDisplay:
    """The live widget: header with a state badge, one log pane per container, Cancel, summary."""

    def __init__(self) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self._widgets = widgets
        self._header = widgets.HTML()
        self._panes = {name: widgets.Output() for name in CONTAINERS}
        self._logs = widgets.Accordion(children=[self._panes[n] for n in CONTAINERS])
        for index, name in enumerate(CONTAINERS):
            self._logs.set_title(index, name)
        self._logs.selected_index = CONTAINERS.index("main")
        self._cancel = widgets.Button(description="Cancel", icon="stop", button_style="danger")
        self._summary = widgets.HTML()
        self.box = widgets.VBox([widgets.HBox([self._header, self._cancel]), self._logs,
                                 self._summary])
        self._transcript: list[str] = []
        self._lock = threading.Lock()
        self._run: Run | None = None
        self._ticker: threading.Thread | None = None
        self._stopped = threading.Event()
        self._cancel.on_click(self._on_cancel)
        _serve_clicks_off_main_thread(self._cancel)
        self._handle = display(self._bundle(), raw=True, display_id=True)

    def _bundle(self) -> dict[str, Any]:
        bundle: dict[str, Any] = self.box._repr_mimebundle_()
        with self._lock:
            bundle["text/plain"] = "\n".join(self._transcript) or "batchmagic run"
        return bundle

    def _on_cancel(self, _button: Any) -> None:
        if self._run is not None:
            self._cancel.disabled = True
            self._cancel.description = "Cancelling…"
            threading.Thread(
                target=self._run.cancel, args=("Cancelled from the batchmagic widget",), daemon=True
            ).start()

    def _record(self, text: str) -> None:
        with self._lock:
            self._transcript.append(text)

    def attach(self, run: Run) -> None:
        self._run = run
        self._record(f"[batchmagic] {run.job_name} ({run.job_id})")
        self.status(run)
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stopped.wait(1.0):
            if self._run is not None:
                self.status(self._run)

    def status(self, run: Run) -> None:
        facts = header_facts(run)
        colour = BADGE_COLOURS.get(run.status, "#6c757d")
        link = facts.get("console_url", "")
        where = (f'<a href="{html.escape(link)}" target="_blank">open in the AWS console</a>'
                 if link else html.escape(facts.get("where", "")))
        self._header.value = (
            f'<b>{html.escape(run.job_name)}</b> <code>{html.escape(run.job_id)}</code> '
            f'<span style="background:{colour};color:white;border-radius:4px;padding:1px 6px">'
            f"{html.escape(run.status)}</span> {format_elapsed(run.elapsed())} · "
            f'<span style="white-space:nowrap">{html.escape(facts.get("size", ""))}</span> · '
            f"{where}"
        )

    def lines(self, container: str, lines: list[str], stream: str = "stdout") -> None:
        pane = self._panes.get(container) or self._panes["main"]
        text = "".join(line + "\n" for line in lines)
        if stream == "stderr":
            pane.append_stderr(text)
        else:
            pane.append_stdout(text)
        prefix = "" if container == "main" else f"[{container}] "
        for line in lines:
            self._record(prefix + line)

    def note(self, text: str) -> None:
        self._panes["main"].append_stdout(f"[batchmagic] {text}\n")
        self._record(f"[batchmagic] {text}")

    def finished(self, run: Run) -> None:
        self._stopped.set()
        self.status(run)
        self._cancel.disabled = True
        self._cancel.layout.display = "none"
        summary = summary_lines(run)
        self._summary.value = "<br>".join(html.escape(line) for line in summary)
        for line in summary:
            self._record(f"[batchmagic] {line}")
        self._handle.update(self._bundle(), raw=True)

    def flush(self) -> None:
        """Widgets update themselves; nothing is queued."""

    def show_again(self, run: Run) -> None:
        from IPython.display import display

        display(self._bundle(), raw=True)


_click_subshell: list[str] = []


def _serve_clicks_off_main_thread(button: Any) -> None:
    """Let Cancel work while the cell blocks in ``Run.wait``.

    ipykernel dispatches a frontend's comm messages (a click) on the main thread, which the
    waiting cell occupies, so a click would only be handled after the job ended. ipykernel >= 7
    can route a comm's messages to a subshell thread instead; this button's go to one subshell
    per kernel. Older kernels keep the old behaviour (Cancel works for --no-wait runs only).
    """
    try:
        from ipykernel.kernelbase import Kernel

        if not Kernel.initialized():
            return
        manager = getattr(getattr(Kernel.instance(), "shell_channel_thread", None), "manager",
                          None)
        if manager is None or not hasattr(manager, "_create_subshell"):
            return
        if not _click_subshell:
            created: list[str] = []
            ready = threading.Event()

            def create() -> None:  # must run on the shell channel thread
                try:
                    created.append(manager._create_subshell())
                finally:
                    ready.set()

            manager._shell_channel_io_loop.add_callback(create)
            if not ready.wait(5) or not created:
                return
            _click_subshell.append(created[0])
        button.comm._reply_subshell_id = _click_subshell[0]
    except Exception:  # an ipykernel without subshells: clicks wait for the cell
        return


def widgets_available() -> bool:
    """True in a Jupyter kernel with ipywidgets importable (the frontend may still lack a widget
    manager; the saved transcript covers that case)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def make_display(mode: str = "auto") -> RunDisplay:
    """``auto``: widget in a Jupyter kernel with ipywidgets, text elsewhere."""
    if mode == "widget" or (mode == "auto" and widgets_available()):
        return WidgetDisplay()
    return TextDisplay()


class Rendered:
    """A result shown as HTML in Jupyter and as text elsewhere (e.g. the doctor's table)."""

    def __init__(self, text: str, html_text: str) -> None:
        self.text = text
        self.html = html_text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return self.html

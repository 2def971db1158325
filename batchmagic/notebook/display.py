"""What a run shows under its cell: a live widget when ipywidgets can be shown, text otherwise.

The widget is written from background threads by trait assignments only (never the Output context
manager, which captures by message id and misroutes output written from other threads), batched
by one ticker. Its display carries a bounded plain-text transcript written once, when the run
ends, so a notebook executed headless (nbclient) keeps the log's tail in its saved outputs.
"""

from __future__ import annotations

import html
import sys
import threading
from collections.abc import Callable
from typing import Any

from batchmagic.aws.progress import TransferProgress
from batchmagic.jobdef.layout import CONTAINERS, MAIN
from batchmagic.notebook.format import (
    badge_html,
    format_elapsed,
    header_facts,
    hidden_lines_html,
    summary_lines,
)
from batchmagic.notebook.panes import LogPane
from batchmagic.notebook.progress_view import StagingBar, finished_line
from batchmagic.notebook.text_display import TextDisplay
from batchmagic.notebook.timeline_view import timeline_chart_html
from batchmagic.notebook.transcript import TRANSCRIPT_CHARS, transcript
from batchmagic.run.handle import Run
from batchmagic.run.view import RunDisplay

FLUSH_SECONDS = 0.25
"""How often the widget sends what was queued (at most 4 updates a second, as tqdm's
``mininterval`` paces a bar): lines arrive by the thousand, the browser gets a few batches."""

FLOOD_SECONDS = 1.0
"""The pace while lines flood in (a quarter of a pane's tail or more per flush): then at most
about one tail a second is sent, whatever the log's rate."""

DEFAULT_LOG_TAIL = 1000


class WidgetDisplay:
    """The live widget: header (outcome badge, Cancel), a log pane per container, summary.

    Display methods only queue; one ticker thread sends what changed every ``FLUSH_SECONDS``.
    Each pane holds the last ``log_tail`` lines of its container (all of them stay in
    ``run.logs`` / ``run.log_text``). ``header_row`` is an ``HBox`` that other parts may extend.
    """

    def __init__(self, log_tail: int = DEFAULT_LOG_TAIL) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self._widgets = widgets
        self.log_tail = log_tail
        self._header = widgets.HTML()
        self._panes = {name: LogPane(widgets, log_tail, self._notice_for(name))
                       for name in CONTAINERS}
        self._logs = widgets.Accordion(children=[self._panes[n].box for n in CONTAINERS])
        for index, name in enumerate(CONTAINERS):
            self._logs.set_title(index, name)
        self._logs.selected_index = CONTAINERS.index(MAIN)
        self._cancel = widgets.Button(description="Cancel", icon="stop", button_style="danger")
        self._detach = widgets.Button(description="Detach", icon="eject",
                                      tooltip="let the cell return; the job goes on in the "
                                              "background (as --no-wait)")
        self._staging = StagingBar()  # shown while an upload or a download lasts
        self.header_row = widgets.HBox([self._header, self._cancel, self._detach,
                                        self._staging.widget])
        self._summary = widgets.HTML()
        self._chart = widgets.HTML()  # where the time went, once the run is over
        self.box = widgets.VBox([self.header_row, self._logs, self._summary, self._chart])
        self._notes: list[str] = []
        self._text = "batchmagic run"
        self._run: Run | None = None
        self._ticker: threading.Thread | None = None
        self._stopped = threading.Event()
        self._flushing = threading.Lock()
        self._cancel.on_click(self._on_cancel)
        self._detach.on_click(self._on_detach)
        _serve_clicks_off_main_thread(self._cancel)
        _serve_clicks_off_main_thread(self._detach)
        self._handle = display(self._bundle(), raw=True, display_id=True)

    def _notice_for(self, container: str) -> Callable[[int, int], str]:
        def notice(hidden: int, total: int) -> str:
            if self._run is None:
                return f"… {hidden:,} earlier lines not shown"
            return hidden_lines_html(self._run, container, hidden, total)

        return notice

    def _bundle(self) -> dict[str, Any]:
        bundle: dict[str, Any] = self.box._repr_mimebundle_()
        bundle["text/plain"] = self._text
        return bundle

    def _on_cancel(self, _button: Any) -> None:
        if self._run is not None:
            self._cancel.disabled = True
            self._cancel.description = "Cancelling…"
            threading.Thread(
                target=self._run.cancel, args=("Cancelled from the batchmagic widget",), daemon=True
            ).start()

    def _on_detach(self, _button: Any) -> None:
        if self._run is not None:
            self._run.detach()
            self._detach.layout.display = "none"

    def attach(self, run: Run) -> None:
        self._run = run
        self._text = f"[batchmagic] {run.job_name} ({run.job_id})"
        self._render_header(run)
        self._ticker = threading.Thread(target=self._tick, name="batchmagic-widget", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        pause = FLUSH_SECONDS
        while not self._stopped.wait(pause):
            pause = FLOOD_SECONDS if self._flush_widgets() else FLUSH_SECONDS

    def _flush_widgets(self) -> bool:
        """Send what changed; True when a pane was flooded."""
        with self._flushing:
            flooded = [pane.flush() for pane in self._panes.values()]
            if self._run is not None:
                self._render_header(self._run)
        return any(flooded)

    def _render_header(self, run: Run) -> None:
        facts = header_facts(run)
        link = facts.get("console_url", "")
        where = (f'<a href="{html.escape(link)}" target="_blank">open in the AWS console</a>'
                 if link else html.escape(facts.get("where", "")))
        value = (
            f'<b>{html.escape(run.job_name)}</b> <code>{html.escape(run.job_id)}</code> '
            f"{badge_html(run)} {format_elapsed(run.elapsed())} · "
            f'<span style="white-space:nowrap">{html.escape(facts.get("size", ""))}</span> · '
            f"{where}"
        )
        if value != self._header.value:
            self._header.value = value

    def status(self, run: Run) -> None:
        """Shown at the next tick."""

    def lines(self, container: str, lines: list[str], stream: str = "stdout") -> None:
        (self._panes.get(container) or self._panes[MAIN]).add(lines)

    def note(self, text: str) -> None:
        self._notes.append(text)
        self._panes[MAIN].add([f"[batchmagic] {text}"])

    def finished(self, run: Run) -> None:
        self._stopped.set()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join(5)
        with self._flushing:
            for pane in self._panes.values():
                pane.finish()
            self._render_header(run)
            self._cancel.disabled = True
            self._cancel.layout.display = "none"
            self._detach.layout.display = "none"
            self._summary.value = "<br>".join(html.escape(line) for line in summary_lines(run))
            self._chart.value = timeline_chart_html(run.timeline)
            self._text = transcript(run, tail=self.log_tail, notes=self._notes)
            self._handle.update(self._bundle(), raw=True)

    def staging(self, progress: TransferProgress) -> None:
        # Already paced by the meter (a few updates a second); the upload comes before attach,
        # so before the ticker runs.
        with self._flushing:
            self._staging.update(progress)
        if progress.finished:
            self._notes.append(finished_line(progress))

    def flush(self) -> None:
        """The ticker sends the widget's updates; nothing to do on the waiting thread."""

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


def in_jupyter_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


def widgets_available() -> bool:
    """True in a Jupyter kernel with ipywidgets importable (the frontend may still lack a widget
    manager; the saved transcript covers that case)."""
    if not in_jupyter_kernel():
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def make_display(mode: str = "auto", log_tail: int = DEFAULT_LOG_TAIL) -> RunDisplay:
    """``auto``: widget in a Jupyter kernel with ipywidgets, text elsewhere. Text in a Jupyter
    kernel is saved with the notebook: it stops after the transcript's size, and says so."""
    if mode == "widget" or (mode == "auto" and widgets_available()):
        return WidgetDisplay(log_tail)
    return TextDisplay(limit=TRANSCRIPT_CHARS if in_jupyter_kernel() else None)


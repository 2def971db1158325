"""How a run reads to people: the header facts, the outcome badge, the summary lines, where
its whole log is.

Pure functions over a :class:`~batchmagic.run.handle.Run`; the text and widget displays, the
saved transcript and the jobs table format runs through here.
"""

from __future__ import annotations

import html
from urllib.parse import quote

from batchmagic.jobdef.layout import MAIN, STAGE_IN
from batchmagic.notebook.timeline_view import timeline_line
from batchmagic.run.cost import JobSize, right_size
from batchmagic.run.handle import Run
from batchmagic.run.outcome import Outcome
from batchmagic.run.stages import TAIL_LINES, main_never_started
from batchmagic.settings import LOG_GROUP

OUTCOME_COLOURS = {
    Outcome.PENDING: "#6c757d", Outcome.RUNNING: "#fd7e14", Outcome.SUCCEEDED: "#198754",
    Outcome.TERMINATED: "#6c757d", Outcome.TIMED_OUT: "#dc3545",
}
FAILED_COLOUR = "#dc3545"


def format_elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def console_url(region: str, job_id: str) -> str:
    return (f"https://{region}.console.aws.amazon.com/batch/home?region={region}"
            f"#jobs/ecs/detail/{job_id}")


def log_console_url(region: str, log_stream: str, log_group: str = LOG_GROUP) -> str:
    """The CloudWatch console page of one log stream (the console's hash route escapes the
    URL-encoded names once more, with ``$25`` for ``%``)."""
    def escape(name: str) -> str:
        return quote(quote(name, safe=""), safe="").replace("%", "$")

    return (f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#logsV2:log-groups/log-group/{escape(log_group)}/log-events/{escape(log_stream)}")


def on_aws(run: Run) -> bool:
    target = run.clients.target
    return not target.emulator and not target.endpoint_url


def where_to_read(run: Run, container: str) -> list[str]:
    """Where every line of a container's log can be read (text, in order of reach)."""
    places = ["run.logs" if container == MAIN else f"run.log_text({container!r})"]
    if container == MAIN:
        places.append("run.log_text('main')")
    places.append(f"%aws_batch_logs {run.job_id} --container {container}")
    return places


def hidden_lines_html(run: Run, container: str, hidden: int, total: int) -> str:
    """The pane's first line once older lines scrolled out of the widget."""
    places = ", ".join(f"<code>{html.escape(p)}</code>" for p in where_to_read(run, container))
    state = run.snapshot.container(container) if run.snapshot else None
    if on_aws(run) and state is not None and state.log_stream:
        url = log_console_url(run.clients.target.region, state.log_stream)
        places += f', <a href="{html.escape(url)}" target="_blank">CloudWatch</a>'
    return (f'<span style="color:#6c757d">… {hidden:,} earlier lines of {total:,} not shown '
            f"here; all of them: {places}</span>")


def badge_html(run: Run) -> str:
    """The outcome badge, with Batch's status as detail."""
    verdict = run.verdict
    colour = OUTCOME_COLOURS.get(verdict.outcome, FAILED_COLOUR)
    return (f'<span title="Batch status: {html.escape(run.status)}" style="background:{colour};'
            f'color:white;border-radius:4px;padding:1px 6px;white-space:nowrap">'
            f"{html.escape(str(verdict))}</span>"
            f' <span style="color:#6c757d;font-size:90%">Batch {html.escape(run.status)}</span>')


def header_facts(run: Run) -> dict[str, str]:
    """The job's size, where it runs and (on AWS) a console link."""
    target = run.clients.target
    facts = {"size": run.record.size, "where": target.describe()}
    if not target.emulator and not target.endpoint_url:
        facts["console_url"] = console_url(target.region, run.job_id)
    else:
        facts["where"] = f"local emulator job ({target.endpoint_url})"
    return facts


def cost_lines(run: Run) -> list[str]:
    """The run's estimated cost, what the cell used, and a better size when there is one."""
    lines = []
    cost = run.cost
    if cost is not None:
        lines.append(f"cost: {cost}")
    usage = run.usage
    if usage is not None:
        lines.append(f"usage: peak memory {usage.max_rss_mib:.0f} MiB, "
                     f"{usage.cpu_seconds:.1f} CPU seconds over {usage.wall_seconds:.1f} s")
        size = JobSize.from_description(run.snapshot.raw) if run.snapshot else None
        hint = size and right_size(usage, platform=size.platform, cpu=size.cpu,
                                   memory_mib=size.memory_mib,
                                   main_memory_mib=size.main_memory_mib)
        if hint:
            lines.append(f"sizing: {hint}")
    return lines


def summary_lines(run: Run) -> list[str]:
    """What the run ended with: status, exit code, error, files, outputs, pulled names."""
    # Batch's reason is noise on success ("Essential container in task exited"), and when main
    # exited 0 but the run failed afterwards (a missing --pull variable, a download).
    reason = run.reason if run.reason and not run.outcome.ok and run.exit_code != 0 else None
    stage_in = run.logbook.container(STAGE_IN).tail(TAIL_LINES)
    main = ("main never started" if main_never_started(run.snapshot, stage_in) is not None
            else (f"main exit code {run.exit_code}" if run.exit_code is not None
                  else "main has no exit code") + (f" ({reason})" if reason else ""))
    lines = [f"{run.verdict} - Batch {run.status}, {main}"
             + (f" in {format_elapsed(run.duration)}" if run.duration is not None else "")]
    if run.error is not None:
        lines.append(f"error: {run.error}")
    lines += cost_lines(run)
    if run.duration is not None:
        lines.append("time: " + timeline_line(run.timeline))
    if run.files:
        lines.append("files: " + ", ".join(str(p) for p in run.files))
    if run.outputs:
        lines.append("outputs: " + ", ".join(sorted(run.outputs)))
    if run.pulled:
        lines.append("pulled: " + ", ".join(sorted(run.pulled)))
    return lines


class Rendered:
    """A result shown as HTML in Jupyter and as text elsewhere (e.g. the doctor's table)."""

    def __init__(self, text: str, html_text: str) -> None:
        self.text = text
        self.html = html_text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return self.html

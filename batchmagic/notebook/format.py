"""How a run reads to people: the header facts, the summary lines, the HTML table.

Pure functions over a :class:`~batchmagic.run.handle.Run`; the text and widget displays, the
and the jobs table format runs through here.
"""

from __future__ import annotations

from batchmagic.run.cost import JobSize, right_size
from batchmagic.run.handle import Run


def format_elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def console_url(region: str, job_id: str) -> str:
    return (f"https://{region}.console.aws.amazon.com/batch/home?region={region}"
            f"#jobs/ecs/detail/{job_id}")


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
    lines = [f"{run.status}: main exit code {run.exit_code}"
             + (f" ({run.reason})" if run.reason else "")
             + (f" in {format_elapsed(run.duration)}" if run.duration is not None else "")]
    if run.error is not None:
        lines.append(f"error: {run.error}")
    lines += cost_lines(run)
    if run.files:
        lines.append("files: " + ", ".join(str(p) for p in run.files))
    if run.outputs:
        lines.append("outputs: " + ", ".join(sorted(run.outputs)))
    if run.pulled:
        lines.append("pulled: " + ", ".join(sorted(run.pulled)))
    return lines

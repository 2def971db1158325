"""The text a run leaves in a saved notebook: bounded, whatever the size of its log.

The widget's display carries this text as its ``text/plain``; it is written once, when the run
ends, so a notebook executed headless (nbclient, nbconvert) stays small and readable on GitHub or
nbviewer. Each container keeps the tail of its log within an equal share of the budget, and
says how many lines it leaves out and where they are.
"""

from __future__ import annotations

from batchmagic.jobdef.layout import CONTAINERS, MAIN
from batchmagic.notebook.format import summary_lines, where_to_read
from batchmagic.run.handle import Run

TRANSCRIPT_CHARS = 200_000
"""The most text a run's saved output holds (about 200 KB)."""


def container_section(run: Run, container: str, tail: int, budget: int) -> list[str]:
    log = run.logbook.container(container)
    prefix = "" if container == MAIN else f"[{container}] "
    kept: list[str] = []
    size = 0
    for line in reversed(log.tail(tail)):
        size += len(prefix) + len(line) + 1
        if size > budget:
            break
        kept.append(prefix + line)
    kept.reverse()
    left_out = len(log) - len(kept)
    if left_out:
        kept.insert(0, f"{prefix}… {left_out:,} earlier lines not saved here; all of them: "
                       + ", ".join(where_to_read(run, container)))
    return kept


def transcript(run: Run, *, tail: int, notes: list[str] | None = None,
               limit: int = TRANSCRIPT_CHARS) -> str:
    """Header, each container's tail, notes and the summary; at most about ``limit`` chars."""
    lines = [f"[batchmagic] {run.job_name} ({run.job_id})"]
    used = [name for name in CONTAINERS if len(run.logbook.container(name))]
    budget = (limit - 4_000) // max(1, len(used))  # 4,000 for header, notes and summary
    for name in used:
        lines += container_section(run, name, tail, budget)
    lines += [f"[batchmagic] {note}" for note in (notes or [])][-20:]
    lines += [f"[batchmagic] {line[:600]}" for line in summary_lines(run)]
    return "\n".join(lines)

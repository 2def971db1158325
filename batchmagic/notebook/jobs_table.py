"""``%aws_batch_jobs``: recent runs from the ledger, with live status for the unfinished ones."""

from __future__ import annotations

import datetime as dt
import html
from collections import defaultdict
from typing import Any

from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.aws.errors import aws_errors
from batchmagic.aws.job import TERMINAL_STATUSES
from batchmagic.errors import AwsError
from batchmagic.ledger import Ledger, RunRecord
from batchmagic.notebook.timeline_view import format_duration
from batchmagic.run.outcome import Outcome

TERMINAL = TERMINAL_STATUSES
COLUMNS = ("started", "job name", "job id", "status", "duration", "cost", "where", "notebook")


def live_statuses(records: list[RunRecord]) -> dict[str, str]:
    """DescribeJobs (100 ids a call) per target for runs not known to be finished.

    A target that cannot be reached (an emulator that stopped, expired credentials) leaves
    its runs with their recorded status plus a note.
    """
    by_target: dict[AwsTarget, list[str]] = defaultdict(list)
    for record in records:
        if record.status not in TERMINAL:
            by_target[record.target()].append(record.job_id)
    statuses: dict[str, str] = {}
    for target, job_ids in by_target.items():
        clients = AwsClients.shared(target)
        for start in range(0, len(job_ids), 100):
            batch = job_ids[start : start + 100]
            try:
                with aws_errors("DescribeJobs"):
                    jobs = clients.batch.describe_jobs(jobs=batch)["jobs"]
            except AwsError:
                statuses.update({job_id: "unreachable" for job_id in batch})
                continue
            found = {job["jobId"]: job["status"] for job in jobs}
            statuses.update({job_id: found.get(job_id, "gone") for job_id in batch})
    return statuses


def rows(ledger: Ledger, limit: int) -> list[dict[str, str]]:
    records = ledger.recent(limit)
    live = live_statuses(records)
    table = []
    for record in records:
        status = live.get(record.job_id, record.status)
        if status in TERMINAL and record.status not in TERMINAL:
            status += " (not collected: %aws_batch_attach)"
        elif record.outcome and record.outcome != Outcome.SUCCEEDED:
            status += f" ({record.outcome})"  # SUCCEEDED (cell failed): Batch's word, then ours
        table.append({
            "started": dt.datetime.fromtimestamp(record.started_at).strftime("%Y-%m-%d %H:%M"),
            "job name": record.job_name,
            "job id": record.job_id,
            "status": status,
            "duration": "" if record.duration is None else format_duration(record.duration),
            "cost": f"${record.cost_usd:.4f}" if record.cost_usd is not None else "",
            "where": "emulator" if record.emulator else record.region,
            "notebook": record.notebook or "",
        })
    return table


class JobsTable:
    """Displays as an HTML table in Jupyter and as aligned text elsewhere."""

    def __init__(self, table: list[dict[str, str]]) -> None:
        self.table = table

    def totals(self) -> dict[str, float]:
        """Estimated cost per notebook over the rows shown (emulator runs: as on Fargate)."""
        sums: dict[str, float] = defaultdict(float)
        for row in self.table:
            if row["cost"]:
                sums[row["notebook"] or "(no notebook)"] += float(row["cost"].lstrip("$"))
        return dict(sums)

    def _totals_line(self) -> str:
        totals = self.totals()
        return ("estimated cost by notebook: " + ", ".join(
            f"{name} ${usd:.4f}" for name, usd in sorted(totals.items()))) if totals else ""

    def __repr__(self) -> str:
        if not self.table:
            return "no batchmagic runs recorded yet"
        widths = {c: max(len(c), *(len(r[c]) for r in self.table)) for c in COLUMNS}
        lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS)]
        lines += ["  ".join(r[c].ljust(widths[c]) for c in COLUMNS) for r in self.table]
        if self._totals_line():
            lines.append(self._totals_line())
        return "\n".join(line.rstrip() for line in lines)

    def _repr_html_(self) -> str:
        if not self.table:
            return "<i>no batchmagic runs recorded yet</i>"
        head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(r[c])}</td>" for c in COLUMNS) + "</tr>"
            for r in self.table
        )
        totals = self._totals_line()
        return (f"<table><tr>{head}</tr>{body}</table>"
                + (f"<p>{html.escape(totals)}</p>" if totals else ""))

    def __iter__(self) -> Any:
        return iter(self.table)

"""The children of a ``--map`` array job: what each one is doing, from DescribeJobs and ListJobs.

ListJobs (``arrayJobId``, ``jobStatus``) is asked only for the states whose counts changed in
the parent's ``statusSummary``, so a 200-child array costs the same few calls a minute as one job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.aws.describer import JobDescriber
from batchmagic.aws.errors import aws_errors
from batchmagic.aws.job import TERMINAL_STATUSES, JobStatus
from batchmagic.errors import BatchMagicError
from batchmagic.jobdef.layout import MAIN
from batchmagic.run.cost import CostEstimate, job_cost
from batchmagic.run.mapresults import child_log_lines

STATES = tuple(status.value for status in JobStatus)


@dataclass
class ChildView:
    """One array child, Run-like: ``status``, ``exit_code``, ``reason``, ``logs``."""

    index: int
    job_id: str
    items: range
    clients: AwsClients
    status: str = "SUBMITTED"
    exit_code: int | None = None
    reason: str | None = None
    started_ms: int | None = None
    stopped_ms: int | None = None
    _logs: list[str] | None = field(default=None, repr=False)

    @property
    def seconds(self) -> float:
        """How long the child ran (what it is billed for)."""
        if self.started_ms is None or self.stopped_ms is None:
            return 0.0
        return max(0.0, (self.stopped_ms - self.started_ms) / 1000)

    @property
    def logs(self) -> list[str]:
        """The main container's log lines (read once, when first asked for after the end)."""
        if self._logs is None or self.status not in TERMINAL_STATUSES:
            self._logs = child_log_lines(self.clients, self.job_id)
        return self._logs

    def log_text(self, container: str = MAIN) -> str:
        return "\n".join(self.logs if container == MAIN
                         else child_log_lines(self.clients, self.job_id, container))


def apply_description(child: ChildView, job: dict[str, Any]) -> None:
    """Update a child from its DescribeJobs description (a one-child run is its own job)."""
    child.status = job["status"]
    child.started_ms, child.stopped_ms = job.get("startedAt"), job.get("stoppedAt")
    containers = (job.get("ecsProperties") or {}).get("taskProperties", [{}])[0].get(
        "containers", [])
    main = next((c for c in containers if c.get("name") == MAIN), None)
    container = job.get("container") or {}
    child.exit_code = (main or {}).get("exitCode", container.get("exitCode"))
    child.reason = (main or {}).get("reason") or job.get("statusReason")


def apply_summary(children: list[ChildView], summary: dict[str, Any]) -> ChildView | None:
    """Update a child from its ListJobs summary; the child when it has just ended."""
    index = (summary.get("arrayProperties") or {}).get("index")
    if index is None or not 0 <= index < len(children):
        return None
    child = children[index]
    if child.status in TERMINAL_STATUSES:
        return None
    child.status = summary["status"]
    child.started_ms, child.stopped_ms = summary.get("startedAt"), summary.get("stoppedAt")
    child.reason = summary.get("statusReason")
    child.exit_code = (summary.get("container") or {}).get("exitCode")
    return child if child.status in TERMINAL_STATUSES else None


def ended_children(clients: AwsClients, job_id: str, children: list[ChildView],
                   counts: dict[str, int], previous: dict[str, int]) -> list[ChildView]:
    """List the children of each state whose count changed (ListJobs, all pages) and update
    them; the children that have just ended."""
    paginator = clients.batch.get_paginator("list_jobs")
    states = [s for s in STATES if counts.get(s, 0) != previous.get(s, 0) and counts.get(s, 0)]
    ended: list[ChildView] = []
    with aws_errors(f"ListJobs {job_id}"):
        for state in states:
            for page in paginator.paginate(arrayJobId=job_id, jobStatus=state):
                for summary in page["jobSummaryList"]:
                    child = apply_summary(children, summary)
                    if child is not None:
                        ended.append(child)
    return ended


def children_cost(description: dict[str, Any], children: list[ChildView],
                  target: AwsTarget) -> CostEstimate | None:
    """Every child's run time at the job's size, at list price; None before any ran."""
    seconds = sum(child.seconds for child in children)
    if seconds <= 0:
        return None
    # Each child is billed with its own one-minute minimum on Fargate.
    billed = sum(max(child.seconds, 60.0) for child in children if child.seconds)
    return job_cost(description, billed, target.region, emulated=target.emulator)


def describe_parent(clients: AwsClients, job_id: str) -> dict[str, Any]:
    """The array job's description (its ``statusSummary`` counts the children per state)."""
    with aws_errors(f"DescribeJobs {job_id}"):
        job = JobDescriber.of(clients).describe(job_id)
    if job is None:
        raise BatchMagicError(f"array job {job_id} not found")
    return job

"""How provisioning results look: one aligned line per resource, a table of doctor checks."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

# Actions a resource line can carry.
CREATED = "created"
REUSED = "reused"
UPDATED = "updated"
WOULD_CREATE = "would create"
WOULD_UPDATE = "would update"
DELETED = "deleted"
WOULD_DELETE = "would delete"
KEPT = "kept"

_ACTION_WIDTH = 14
_KIND_WIDTH = 19  # "compute environment"


@dataclass(frozen=True)
class ResourceResult:
    """One resource setup or teardown looked at: what it is, what was done, its ARN if known."""

    kind: str
    name: str
    action: str
    arn: str = ""
    detail: str = ""

    def line(self) -> str:
        """``created   execution role      batchmagic-execution  (detail)``, aligned."""
        text = f"  {self.action:<{_ACTION_WIDTH}}{self.kind:<{_KIND_WIDTH}}  {self.name}"
        return f"{text}  ({self.detail})" if self.detail else text


PASS = "PASS"
FAIL = "FAIL"
SKIP = "SKIP"


@dataclass(frozen=True)
class CheckResult:
    """One doctor check: its name, PASS/FAIL/SKIP, what was found, and how to fix a failure."""

    check: str
    status: str
    detail: str = ""
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status != FAIL


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]


def render_checks_text(checks: Sequence[CheckResult]) -> str:
    """A plain-text table: check, status, detail, fix; then a one-line verdict."""
    rows: list[tuple[str, ...]] = [("CHECK", "STATUS", "DETAIL", "FIX")]
    rows += [(c.check, c.status, c.detail, c.fix) for c in checks]
    if not any(c.fix for c in checks):  # no empty FIX column padded past the widest detail
        rows = [row[:3] for row in rows]
    failed = [c.check for c in checks if not c.ok]
    skipped = [c.check for c in checks if c.status == SKIP]
    verdict = (f"{len(failed)} check(s) failed: {', '.join(failed)}" if failed
               else f"all {len(checks)} checks passed" if not skipped
               else f"no check failed: {len(checks) - len(skipped)} passed, {len(skipped)} "
                    f"skipped ({', '.join(skipped)})")
    return "\n".join([*_table(rows), "", verdict])


_COLORS = {PASS: "#1a7f37", FAIL: "#cf222e", SKIP: "#6e7781"}


def render_checks_html(checks: Sequence[CheckResult]) -> str:
    """The same table as HTML, for notebooks (``%aws_batch_doctor``)."""
    head = "".join(f"<th style='text-align:left'>{h}</th>"
                   for h in ("Check", "Status", "Detail", "Fix"))
    body = []
    for c in checks:
        color = _COLORS.get(c.status, "inherit")
        body.append(
            "<tr>"
            f"<td>{html.escape(c.check)}</td>"
            f"<td style='color:{color};font-weight:bold'>{html.escape(c.status)}</td>"
            f"<td>{html.escape(c.detail)}</td>"
            f"<td>{html.escape(c.fix)}</td>"
            "</tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"

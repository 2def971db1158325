"""The run ledger: a ledger written by an older release gains the new columns on first use,
and each run keeps its timeline."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from batchmagic.ledger import SCHEMA, Ledger, RunRecord


def test_an_older_ledger_gains_the_cost_column(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    old_schema = SCHEMA.replace(",\n    cost_usd REAL", "")
    assert "cost_usd" not in old_schema
    with sqlite3.connect(path) as db:
        db.execute(old_schema)
    ledger = Ledger(path)
    ledger.record(RunRecord(job_id="j1", job_name="cell-1", region="us-east-1", bucket="b",
                            run_prefix="p/u/r", output_dir="."))
    ledger.finish("j1", "SUCCEEDED", cost_usd=0.0123)
    (record,) = ledger.recent()
    assert (record.status, record.cost_usd) == ("SUCCEEDED", 0.0123)


# The runs table as the first release wrote it.
FIRST_SCHEMA = """
CREATE TABLE runs (
    job_id TEXT PRIMARY KEY, job_name TEXT NOT NULL, region TEXT NOT NULL, profile TEXT,
    endpoint_url TEXT, emulator INTEGER NOT NULL, bucket TEXT NOT NULL,
    run_prefix TEXT NOT NULL, output_dir TEXT NOT NULL, outputs TEXT NOT NULL,
    pull TEXT NOT NULL, keep INTEGER NOT NULL, size TEXT NOT NULL, source_hash TEXT NOT NULL,
    notebook TEXT, cell_id TEXT, started_at REAL NOT NULL, ended_at REAL, status TEXT NOT NULL
)
"""

PHASES = (("prepare", 100.0, 0.5), ("upload", 100.5, 2.0), ("main", 102.5, 7.25))


def _record(job_id: str) -> RunRecord:
    return RunRecord(job_id=job_id, job_name="cell", region="us-east-1", bucket="b",
                     run_prefix="p/u/r", output_dir="/tmp", started_at=100.0)


def test_a_ledger_from_before_timelines_gains_the_column_and_keeps_its_runs(
    tmp_path: Path
) -> None:
    path = tmp_path / "runs.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(FIRST_SCHEMA)
        db.execute("INSERT INTO runs VALUES ('old-job', 'cell', 'us-east-1', NULL, NULL, 1, 'b',"
                   " 'p/u/r', '/tmp', '[]', '[]', 0, '', '', NULL, NULL, 50.0, 80.0,"
                   " 'SUCCEEDED')")
    db.close()
    ledger = Ledger(path)
    old = ledger.find("old-job")
    assert old is not None and old.timeline == () and old.status == "SUCCEEDED"
    assert old.outcome is None  # ended before outcomes were kept
    assert old.duration == 30.0  # no timeline: from its start to its end
    ledger.record(_record("new-job"))
    ledger.finish("new-job", "SUCCEEDED", 110.0, timeline=PHASES, outcome="cell failed")
    new = ledger.find("new-job")
    assert new is not None and new.timeline == PHASES and new.outcome == "cell failed"
    assert new.duration == 9.75  # the timeline's total
    assert {r.job_id for r in ledger.recent()} == {"old-job", "new-job"}

"""The run ledger: a ledger written by an older release gains the new columns on first use."""

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

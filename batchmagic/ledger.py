"""Every run is recorded in a small SQLite file under the user's state directory, so that jobs
survive kernel restarts: ``%aws_batch_jobs`` lists them and ``%aws_batch_attach`` resumes one.

Nothing secret is stored: the target is a region, a profile name and an endpoint URL.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from batchmagic.aws.clients import AwsTarget
from batchmagic.settings import state_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    job_id TEXT PRIMARY KEY,
    job_name TEXT NOT NULL,
    region TEXT NOT NULL,
    profile TEXT,
    endpoint_url TEXT,
    emulator INTEGER NOT NULL,
    bucket TEXT NOT NULL,
    run_prefix TEXT NOT NULL,
    output_dir TEXT NOT NULL,
    outputs TEXT NOT NULL,
    pull TEXT NOT NULL,
    keep INTEGER NOT NULL,
    size TEXT NOT NULL,
    source_hash TEXT NOT NULL,
    notebook TEXT,
    cell_id TEXT,
    started_at REAL NOT NULL,
    ended_at REAL,
    status TEXT NOT NULL,
    cost_usd REAL,
    timeline TEXT NOT NULL DEFAULT '[]',
    outcome TEXT
)
"""
# Columns added after the first release: older ledgers get them on first use (SQLite's ADD
# COLUMN keeps every row, with the default).
ADDED_COLUMNS = {"cost_usd": "REAL", "timeline": "TEXT NOT NULL DEFAULT '[]'", "outcome": "TEXT"}


@dataclass(frozen=True)
class RunRecord:
    """What following a job to its end needs: from a fresh run, the ledger, or the job's tags."""

    job_id: str
    job_name: str
    region: str
    bucket: str
    run_prefix: str
    output_dir: str
    outputs: tuple[str, ...] = ()
    pull: tuple[str, ...] = ()
    keep: bool = False
    size: str = ""
    source_hash: str = ""
    profile: str | None = None
    endpoint_url: str | None = None
    emulator: bool = False
    notebook: str | None = None
    cell_id: str | None = None
    started_at: float = 0.0
    ended_at: float | None = None
    status: str = "SUBMITTED"
    cost_usd: float | None = None
    # The run's phases as (name, start, duration) rows (see batchmagic.run.timeline).
    timeline: tuple[tuple[str, float, float], ...] = ()
    # How the run ended for its user (run.outcome: "succeeded", "cell failed", ...), where
    # Batch's status may say SUCCEEDED for a cell that raised; None until it ended.
    outcome: str | None = None

    def target(self) -> AwsTarget:
        """Where the job runs: the run's region, profile and endpoint."""
        return AwsTarget(region=self.region, profile=self.profile,
                         endpoint_url=self.endpoint_url, emulator=self.emulator)

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["outputs"] = json.dumps(list(self.outputs))
        row["pull"] = json.dumps(list(self.pull))
        row["keep"] = int(self.keep)
        row["emulator"] = int(self.emulator)
        row["timeline"] = json.dumps([list(phase) for phase in self.timeline])
        return row

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RunRecord:
        values = dict(row)
        values["outputs"] = tuple(json.loads(values["outputs"]))
        values["pull"] = tuple(json.loads(values["pull"]))
        values["keep"] = bool(values["keep"])
        values["emulator"] = bool(values["emulator"])
        values["timeline"] = tuple((str(name), float(start), float(duration))
                                   for name, start, duration in json.loads(values["timeline"]))
        return cls(**values)

    @property
    def duration(self) -> float | None:
        """Seconds the run took: its timeline's total, else from its start to its end."""
        if self.timeline:
            return sum(duration for _, _, duration in self.timeline)
        return None if self.ended_at is None else self.ended_at - self.started_at


_COLUMNS = [f.name for f in fields(RunRecord)]


class Ledger:
    """The run ledger. Each call opens its own connection: kernels and threads share the file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / "runs.sqlite3"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10)
        connection.row_factory = sqlite3.Row
        try:
            connection.execute(SCHEMA)
            present = {row["name"] for row in connection.execute("PRAGMA table_info(runs)")}
            for column, kind in ADDED_COLUMNS.items():
                if column not in present:
                    with contextlib.suppress(sqlite3.OperationalError):  # another kernel did
                        connection.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
            with connection:
                yield connection
        finally:
            connection.close()

    def record(self, record: RunRecord) -> None:
        row = record.to_row()
        placeholders = ", ".join(f":{c}" for c in _COLUMNS)
        with self._connect() as db:
            db.execute(
                f"INSERT OR REPLACE INTO runs ({', '.join(_COLUMNS)}) VALUES ({placeholders})", row
            )

    def finish(self, job_id: str, status: str, ended_at: float | None = None,
               cost_usd: float | None = None,
               timeline: tuple[tuple[str, float, float], ...] = (),
               outcome: str | None = None) -> None:
        with self._connect() as db:
            db.execute("UPDATE runs SET status = ?, ended_at = ?, cost_usd = ?, timeline = ?, "
                       "outcome = ? WHERE job_id = ?",
                       (status, ended_at or time.time(), cost_usd,
                        json.dumps([list(phase) for phase in timeline]), outcome, job_id))

    def recent(self, limit: int = 20) -> list[RunRecord]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY started_at DESC LIMIT ?", (limit,))
            return [RunRecord.from_row(row) for row in rows]

    def find(self, job_id_or_name: str) -> RunRecord | None:
        """By job id, else the most recent run with that job name."""
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM runs WHERE job_id = ? OR job_name = ? ORDER BY started_at DESC "
                "LIMIT 1",
                (job_id_or_name, job_id_or_name),
            ).fetchone()
        return RunRecord.from_row(row) if row else None

"""What comes back from a finished run: Kestra-style outputs, result.json, pulled variables."""

from __future__ import annotations

import fnmatch
import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchmagic.errors import JobFailedError
from batchmagic.jobdef.layout import output_filters
from batchmagic.run.exitdiag import cell_class_message
from batchmagic.runtime.versions import version_table

# Kestra's protocol: a line `::{"outputs": {...}}::` printed by the script.
_PREFIX, _SUFFIX = "::", "::"


def parse_protocol_line(line: str) -> dict[str, Any] | None:
    """The JSON object of a `::{...}::` line, or None for an ordinary log line."""
    text = line.strip()
    if not (text.startswith(_PREFIX + "{") and text.endswith("}" + _SUFFIX)):
        return None
    try:
        data = json.loads(text[len(_PREFIX) : -len(_SUFFIX)])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


@dataclass
class CellResult:
    """The bootstrap's result.json: did the cell raise, and what did it report."""

    ok: bool | None = None
    exception_type: str | None = None
    exception_message: str | None = None
    traceback: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    missing_pull: list[str] = field(default_factory=list)
    unpicklable_pull: dict[str, str] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    skipped_links: list[dict[str, str]] = field(default_factory=list)
    started_at: float | None = None  # epoch seconds, the main container's clock
    ended_at: float | None = None
    pull_manifest: dict[str, Any] | None = None  # Python and module versions the job pickled with

    def pulled_from(self, data: bytes | None) -> dict[str, Any]:
        """The pulled values in ``data`` (pull.pkl), explained with this result's manifest."""
        return load_pulled(data, self.pull_manifest)

    @classmethod
    def parse(cls, data: bytes | None) -> CellResult:
        if not data:
            return cls()
        try:
            raw = json.loads(data)
        except ValueError:
            return cls()
        return cls(
            ok=raw.get("ok"),
            exception_type=raw.get("exception_type"),
            exception_message=raw.get("exception_message"),
            traceback=raw.get("traceback"),
            outputs=dict(raw.get("outputs") or {}),
            missing_pull=list(raw.get("missing_pull") or []),
            unpicklable_pull=dict(raw.get("unpicklable_pull") or {}),
            usage=dict(raw.get("usage") or {}),
            skipped_links=[dict(item) for item in raw.get("skipped_links") or []
                           if isinstance(item, dict)],
            started_at=_seconds(raw.get("started_at")),
            ended_at=_seconds(raw.get("ended_at")),
            pull_manifest=raw.get("pull_manifest") or None,
        )

    def link_warnings(self) -> list[str]:
        """One line per output that stage-out left behind because it is a symbolic link."""
        return [f"{item.get('path')} was not brought back: {item.get('reason')} "
                f"(-> {item.get('target')}); stage-out never follows links"
                for item in self.skipped_links]


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def load_pulled(data: bytes | None, manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    """Unpickle the pulled variables written by the bootstrap (our own job's file); when that
    fails, say which module versions differ between the job and the kernel."""
    if not data:
        return {}
    try:
        # Safe to unpickle: written by this run's own bootstrap into our own run prefix.
        values = pickle.loads(data)
    except Exception as error:
        cell_class = cell_class_message(error)
        if cell_class is not None:
            raise JobFailedError(cell_class) from None
        if not manifest:
            raise
        raise JobFailedError(
            f"the --pull values cannot be unpickled in the kernel ({type(error).__name__}: "
            f"{error}); versions differ (install the job's versions here, or --pip the "
            f"kernel's in the job):\n{version_table(manifest, 'job', 'kernel')}") from None
    return dict(values) if isinstance(values, dict) else {}


def unmatched_patterns(patterns: tuple[str, ...], output_dir: Path, files: list[Path]
                       ) -> list[str]:
    """One warning per ``--outputs`` pattern that brought no file back.

    The stage-out container's AWS CLI matches ``--include`` filters with ``fnmatch`` against the
    path under the work dir (``*`` also matches ``/``); the downloaded files keep that path under
    ``output_dir``, so the same match tells which patterns found nothing.
    """
    root = Path(os.path.realpath(output_dir))
    names = []
    for path in files:
        try:
            names.append(path.relative_to(root).as_posix())
        except ValueError:
            continue
    return [f"--outputs {pattern!r} matched no file in the work dir; nothing came back for it"
            for pattern in patterns
            if not any(fnmatch.fnmatch(n, f) for f in output_filters([pattern]) for n in names)]

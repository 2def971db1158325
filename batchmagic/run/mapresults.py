"""What a ``--map`` run brings back, item by item: results from S3, files, child logs.

Each item's results sit under ``out/.map/<index>/out/`` (its ``.batchmagic/result.json`` and
``pull.pkl``, and its output files), so items never overwrite each other and the kernel learns
an item's result from S3 as soon as its child has finished (Lithops does the same), without
reading any log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.download import download_outputs
from batchmagic.aws.errors import aws_errors
from batchmagic.aws.readlog import read_stream
from batchmagic.aws.staging import RunLocation, list_keys
from batchmagic.errors import AwsError
from batchmagic.jobdef import layout
from batchmagic.run.fanout import MAP_DIR, MapPlan
from batchmagic.run.outputs import CellResult, load_pulled, parse_protocol_line


@dataclass(frozen=True)
class MapFailure:
    """Stands in ``run.results[i]`` for an item that did not succeed. Falsy."""

    index: int
    error: str

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<failed item {self.index}: {self.error}>"


@dataclass
class ItemResult:
    """One item's outcome: its cell result, pulled values and (after download) files."""

    index: int
    cell: CellResult
    pulled: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.cell.ok)


def item_location(run: RunLocation, index: int) -> RunLocation:
    """The item's own ``out/`` as a run location (``…/out/.map/<index>/out/``)."""
    return RunLocation(run.bucket, f"{run.out_prefix}{MAP_DIR}/{index}")


def _get(clients: AwsClients, bucket: str, key: str) -> bytes | None:
    try:
        with aws_errors(f"GetObject s3://{bucket}/{key}"):
            body: bytes = clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except AwsError as error:
        if error.code in ("NoSuchKey", "404"):
            return None
        raise
    return body


FETCH_WORKERS = 16  # concurrent GetObjects of item results (the S3 client pools 32)


def fetch_items(clients: AwsClients, run: RunLocation, wanted: list[tuple[int, str | None]],
                store: Callable[[int, ItemResult], None]) -> None:
    """Fetch the items ``(position, child's failure reason or None)``, several at a time;
    ``store(position, item)`` gets each one as it comes."""
    def fetch(job: tuple[int, str | None]) -> None:
        store(job[0], fetch_item(clients, run, *job))

    with ThreadPoolExecutor(max_workers=FETCH_WORKERS) as pool:
        list(pool.map(fetch, wanted))


def fetch_item(clients: AwsClients, run: RunLocation, index: int,
               child_reason: str | None) -> ItemResult:
    """Read one item's result.json and pull.pkl (small objects, kept in memory)."""
    where = item_location(run, index)
    raw = _get(clients, run.bucket, f"{where.out_prefix}{layout.RESULT_FILE}")
    if raw is None:
        reason = child_reason or "its child ended before the item ran"
        return ItemResult(index, CellResult(), error=f"did not finish: {reason}")
    cell = CellResult.parse(raw)
    pulled: dict[str, Any] = {}
    pickled = _get(clients, run.bucket, f"{where.out_prefix}{layout.PULL_FILE}")
    try:
        pulled = load_pulled(pickled)
    except Exception as error:  # unpickling raises anything: the item's values are unusable
        return ItemResult(index, cell, error=f"pulled values cannot be loaded: {error}")
    failure = None if cell.ok else f"{cell.exception_type}: {cell.exception_message}"
    return ItemResult(index, cell, pulled, error=failure)


def files_by_item(clients: AwsClients, run: RunLocation) -> dict[int, list[str]]:
    """Item index -> the relative paths of its output files (batchmagic's own excluded)."""
    base = f"{run.out_prefix}{MAP_DIR}/"
    found: dict[int, list[str]] = defaultdict(list)
    for key, _size in list_keys(clients, run.bucket, base):
        index_text, _, rest = key[len(base):].partition("/out/")
        if not index_text.isdigit() or not rest or rest.startswith(layout.INTERNAL_DIR + "/"):
            continue
        if rest.startswith(layout.OUTPUT_SUBDIR + "/"):
            rest = rest[len(layout.OUTPUT_SUBDIR) + 1:]
        found[int(index_text)].append(rest)
    return dict(found)


def names_collide(files: dict[int, list[str]]) -> bool:
    """True when two items wrote the same relative path (they then land in per-item dirs)."""
    seen: set[str] = set()
    for paths in files.values():
        for path in paths:
            if path in seen:
                return True
            seen.add(path)
    return False


def download_items(clients: AwsClients, run: RunLocation, output_dir: Path,
                   files: dict[int, list[str]], indices: list[int],
                   per_item_dirs: bool) -> dict[int, list[Path]]:
    """Download every item's files, into ``output_dir/<index>/`` (the item's original index)
    or, when the names are unique already, straight into ``output_dir``."""
    placed: dict[int, list[Path]] = {}
    for position in sorted(files):
        destination = output_dir / str(indices[position]) if per_item_dirs else output_dir
        placed[position] = download_outputs(clients, item_location(run, position),
                                            destination).files
    return placed


def child_log_lines(clients: AwsClients, child_id: str, container: str = layout.MAIN,
                    limit: int = 10_000) -> list[str]:
    """A child's log lines of one container, from the start (on demand, never polled)."""
    try:
        jobs = clients.batch.describe_jobs(jobs=[child_id])["jobs"]
        containers = jobs[0]["ecsProperties"]["taskProperties"][0]["containers"] if jobs else []
    except (KeyError, IndexError):
        return []
    stream = next((c.get("logStreamName") for c in containers if c.get("name") == container),
                  None)
    if not stream:
        return []
    lines: list[str] = []
    try:
        for message in read_stream(clients, stream):
            line = message.rstrip("\n")
            if parse_protocol_line(line) is None:
                lines.append(line)
            if len(lines) >= limit:
                break
    except AwsError:
        pass  # what was read so far: logs are shown on demand, a failed read is not fatal
    return lines[:limit]


def failure_message(failed: dict[int, str], succeeded: int, plan: MapPlan,
                    where: str) -> str | None:
    """Why a map run fails (its items failed beyond --min-success), or None when it does not."""
    if not failed or plan.options.on_error == "collect":
        return None
    share = succeeded / max(1, plan.count)
    minimum = plan.options.min_success
    if minimum is not None and share >= minimum:
        return None
    lines = [f"  item {index}: {error}" for index, error in list(failed.items())[:10]]
    more = len(failed) - len(lines)
    if more > 0:
        lines.append(f"  … and {more} more (run.failed)")
    needed = f" (needed {minimum:.0%})" if minimum is not None else ""
    return (f"{len(failed)} of {plan.count} items failed, {share:.0%} succeeded{needed}; "
            f"{where}. The successes are kept: run.results, run.failed, run.retry_failed()\n"
            + "\n".join(lines))

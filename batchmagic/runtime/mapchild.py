"""One child of a ``%%aws_batch --map`` array job: runs the cell once per item it owns.

Started by ``bootstrap.py`` when ``$BATCHMAGIC_MAP_AS`` is set. Child ``c`` of ``n`` children
(``$AWS_BATCH_JOB_ARRAY_INDEX``, absent for a one-child run) owns items ``c, c+n, c+2n, ...`` of
the pickled list in ``.batchmagic/map.pkl``. For each item it:

1. starts from a fresh ``__main__`` namespace with the pushed variables and the item bound to
   ``$BATCHMAGIC_MAP_AS``;
2. runs the cell (the item's own rendering when the template uses ``{{ item }}``/``{{ index }}``);
3. moves what the item wrote that matches ``$BATCHMAGIC_MAP_OUTPUTS`` (and everything under the
   output dir) into ``.map/<index>/out/``, next to its ``result.json`` and ``pull.pkl`` - the
   stage-out sidecar copies ``.map/`` back, so items never overwrite each other.

An item that raises is recorded and the child goes on with its next item. Standard library only.
"""

from __future__ import annotations

import fnmatch
import json
import os
import pickle
import shutil
import sys
from typing import Any

# The bootstrap beside this file (both are top-level scripts in the container).
import bootstrap  # type: ignore[import-not-found]

MAP_DIR = ".map"


def _snapshot(workdir: str) -> dict[str, tuple[float, int]]:
    """Every regular file under the work dir (not ours, symlinks not followed) -> (mtime, size)."""
    found: dict[str, tuple[float, int]] = {}
    for root, dirs, files in os.walk(workdir):
        rel_root = os.path.relpath(root, workdir)
        if rel_root == ".":
            dirs[:] = [d for d in dirs if d not in (bootstrap.INTERNAL_DIR, MAP_DIR)]
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            stat = os.stat(path)
            found[os.path.normpath(os.path.join(rel_root, name))] = (stat.st_mtime, stat.st_size)
    return found


def _destination(relative: str, patterns: list[str]) -> str | None:
    """Where an item's file goes under its ``out/``, or None when it is not an output."""
    posix = relative.replace(os.sep, "/")
    prefix = bootstrap.OUTPUT_SUBDIR + "/"
    if posix.startswith(prefix):
        return f"{bootstrap.OUTPUT_SUBDIR}/{posix[len(prefix):]}"
    # The AWS CLI's filter syntax, as for a single run: `*` also matches "/".
    if any(fnmatch.fnmatchcase(posix, pattern) for pattern in patterns):
        return posix
    return None


def collect_outputs(workdir: str, before: dict[str, tuple[float, int]], target: str,
                    patterns: list[str]) -> int:
    """Move the item's new output files (copy changed pre-existing ones) under ``target``."""
    moved = 0
    for relative, state in sorted(_snapshot(workdir).items()):
        destination = _destination(relative, patterns)
        if destination is None or before.get(relative) == state:
            continue  # not an output, or an input/earlier file the item did not touch
        source = os.path.join(workdir, relative)
        path = os.path.join(target, destination)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if relative in before:
            shutil.copy2(source, path)
        else:
            os.replace(source, path)
        moved += 1
    return moved


class ItemRun(bootstrap.Run):  # type: ignore[misc]
    """The bootstrap's run of one cell, writing its results into the item's own directory."""

    def __init__(self, index: int, source: str | None) -> None:
        super().__init__()
        self.index = index
        self.item_dir = os.path.join(self.workdir, MAP_DIR, str(index), "out")
        self.results_dir = os.path.join(self.item_dir, bootstrap.INTERNAL_DIR)
        self.item_source = source

    def run_cell(self) -> None:
        if self.item_source is None:
            super().run_cell()
            return
        source = bootstrap.container_paths_to(self.workdir, self.item_source)
        exec(compile(source, self.cell_path, "exec", dont_inherit=True), self.namespace)


def run_item(index: int, item: Any, source: str | None, as_name: str,
             patterns: list[str]) -> bool:
    """Run the cell for one item; True when it succeeded. A SIGTERM stops the child after the
    item's results are saved (JobTerminated is raised again)."""
    run = ItemRun(index, source)
    os.makedirs(run.results_dir, exist_ok=True)
    before = _snapshot(run.workdir)
    scanner = bootstrap.progress_lines.OutputScanner(sys.stdout)
    sys.stdout = scanner
    stopped: BaseException | None = None
    try:
        run.prepare()
        run.load_pushed()
        run.namespace[as_name] = item
        run.run_cell()
    except BaseException as error:  # the item failed: record it, go on with the next one
        run.record_exception(error)
        if isinstance(error, (bootstrap.JobTerminated, KeyboardInterrupt)):
            stopped = error
    finally:
        sys.stdout.flush()
        sys.stdout = scanner.stream
        scanner.finish()
    try:
        run.save_pulled()
    except Exception as error:
        if run.ok:
            run.record_exception(error)
    run.write_result(bootstrap.progress_lines.collected_outputs(scanner))
    collect_outputs(run.workdir, before, run.item_dir, patterns)
    status = "succeeded" if run.ok else f"failed ({run.exception_type})"
    print(f"batchmagic: item {index} {status}", file=sys.stderr, flush=True)
    if stopped is not None:
        raise stopped
    return bool(run.ok)


def owned_items(count: int) -> range:
    child = int(os.environ.get("AWS_BATCH_JOB_ARRAY_INDEX") or 0)
    children = int(os.environ.get("BATCHMAGIC_MAP_CHILDREN") or 1)
    return range(child, count, children)


def main() -> int:
    """Run every item this child owns (called by bootstrap.main, SIGTERM handler installed)."""
    internal = os.path.join(bootstrap.Run().workdir, bootstrap.INTERNAL_DIR)
    with open(os.path.join(internal, "map.pkl"), "rb") as handle:
        plan = pickle.load(handle)
    items: list[Any] = plan["items"]
    sources: list[str] | None = plan.get("sources")
    as_name = os.environ["BATCHMAGIC_MAP_AS"]
    patterns = json.loads(os.environ.get("BATCHMAGIC_MAP_OUTPUTS") or "[]")
    try:
        for index in owned_items(len(items)):
            run_item(index, items[index], sources[index] if sources else None, as_name,
                     patterns)
    except bootstrap.JobTerminated:
        return int(bootstrap.TERMINATED_EXIT_CODE)
    sys.stdout.write(bootstrap.DONE_LINE + "\n")
    sys.stdout.flush()
    # Per-item failures are in each item's result.json; the child itself succeeded.
    return 0

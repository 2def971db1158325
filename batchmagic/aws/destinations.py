"""Where each key of a run's ``out/`` lands: in the output directory, or in memory for
batchmagic's own files; a key that would land outside the output directory is refused before
anything is written."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from batchmagic.errors import StagingError
from batchmagic.jobdef.layout import INTERNAL_DIR, OUTPUT_SUBDIR

# Keys under INTERNAL_DIR/ (of ``in/`` and ``out/``) are batchmagic's own files.
INTERNAL_PREFIX = f"{INTERNAL_DIR}/"

OUTPUTS_DIR = f"{OUTPUT_SUBDIR}/"
"""Keys under ``out/.outputs/`` land directly in the output directory (the cell's outputDir)."""


@dataclass(frozen=True)
class S3Object:
    """One listed object."""

    key: str
    size: int
    etag: str | None = None


def map_outputs(
    objects: Sequence[S3Object], out_prefix: str, root: Path
) -> tuple[dict[str, S3Object], dict[Path, S3Object]]:
    """Split listed keys into internal ones (by name) and files (by destination); refuse escapes.

    Raises StagingError, before anything is written, if any key would land outside ``root`` or
    if a key would be both a file and a directory.
    """
    internal: dict[str, S3Object] = {}
    targets: dict[Path, S3Object] = {}
    explicit: set[Path] = set()
    refused: list[str] = []
    for obj in objects:
        key = obj.key
        relative = key[len(out_prefix):]
        if not relative or relative.endswith("/"):
            continue  # "directory" placeholder objects carry no file
        if relative.startswith(INTERNAL_PREFIX):
            internal[relative] = obj
            continue
        from_outputs = relative.startswith(OUTPUTS_DIR)
        if from_outputs:
            relative = relative[len(OUTPUTS_DIR):]
        dest = safe_destination(relative, root)
        if dest is None:
            refused.append(key)
            continue
        if dest in explicit and not from_outputs:
            continue  # an .outputs/ key already claimed this destination
        targets[dest] = obj
        if from_outputs:
            explicit.add(dest)
    if refused:
        raise StagingError(
            f"refusing to download outputs: {', '.join(repr(k) for k in refused)} would be "
            f"written outside {root}; nothing was written"
        )
    for dest in targets:
        for parent in dest.parents:
            if parent == root:
                break
            if parent in targets:
                raise StagingError(
                    f"refusing to download outputs: {targets[parent].key!r} and "
                    f"{targets[dest].key!r} need {parent} to be both a file and a directory; "
                    "nothing was written"
                )
    return internal, targets


def safe_destination(relative: str, root: Path) -> Path | None:
    """``root / relative`` if it stays inside ``root`` once symlinks are resolved, else None."""
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or "\\" in relative or "\x00" in relative:
        return None
    if any(part in ("..", ".") for part in parts):
        return None
    dest = root.joinpath(*parts)
    # A symlink already in output_dir (on the way, or the file itself) may point elsewhere.
    if not Path(os.path.realpath(dest)).is_relative_to(root):
        return None
    return dest

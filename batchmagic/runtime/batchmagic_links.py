"""Which output paths stage-out will not bring back because they are symbolic links.

Stage-out runs ``aws s3 cp --recursive --no-follow-symlinks``: a link is never followed, so a
cell that links ``/`` or ``/etc/passwd`` into the work dir cannot make stage-out walk the host
or copy a file from outside the work dir. The AWS CLI skips those links silently; this module,
run by the bootstrap once the cell is over, names them so the run can say why they are missing.

Standard library only (shipped into the container, any Python >= 3.8).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence

MAX_ENTRIES = 200000
"""Stop looking after this many directory entries (a cell that wrote millions of files)."""

MAX_REPORTED = 50


def _matches(relative: str, patterns: Sequence[str]) -> bool:
    # The AWS CLI's --include filters: fnmatch on the path relative to the source, where
    # `*` also matches "/".
    return any(fnmatch.fnmatchcase(relative, pattern) for pattern in patterns)


def skipped_links(workdir: str, patterns: Sequence[str],
                  internal: str = ".batchmagic") -> list[dict[str, str]]:
    """[{"path", "target", "reason"}] for links in ``workdir`` that ``patterns`` select."""
    found: list[dict[str, str]] = []
    seen = 0
    root = os.path.realpath(workdir)
    for directory, dirs, files in os.walk(workdir):  # never follows links into directories
        relative_dir = os.path.relpath(directory, workdir)
        if relative_dir == internal or relative_dir.startswith(internal + os.sep):
            dirs[:] = []
            continue
        for name in dirs + files:
            seen += 1
            if seen > MAX_ENTRIES or len(found) >= MAX_REPORTED:
                return found
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                continue
            relative = os.path.normpath(os.path.join(relative_dir, name))
            if not (_matches(relative, patterns) or _matches(relative + "/x", patterns)):
                continue
            target = os.readlink(path)
            resolved = os.path.realpath(path)
            inside = resolved == root or resolved.startswith(root + os.sep)
            reason = ("a symbolic link inside the work dir (copy the file instead)" if inside
                      else "a symbolic link to a path outside the work dir")
            found.append({"path": relative, "target": target, "reason": reason})
    return found


def report(workdir: str) -> list[dict[str, str]]:
    """The skipped links among ``$BATCHMAGIC_OUTPUTS`` and the outputs dir; [] on any trouble
    (reporting must never cost the run its results)."""
    import json

    try:
        patterns = list(json.loads(os.environ.get("BATCHMAGIC_OUTPUTS") or "[]"))
        return skipped_links(workdir, [*patterns, ".outputs/*"])
    except Exception:
        return []

"""Which local files a run stages, and under which keys (pure: no AWS).

``--inputs`` takes files, directories and globs; each file becomes a key under the run's
``in/`` prefix, which the stage-in sidecar copies into the work dir with the same layout.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

from batchmagic.errors import ConfigurationError
from batchmagic.jobdef.layout import INTERNAL_DIR

_GLOB_CHARS = frozenset("*?[")


def plan_inputs(patterns: Sequence[str], base_dir: Path) -> list[tuple[Path, str]]:
    """Expand input patterns into ``(local file, key relative to in/)`` pairs.

    A pattern is a file, a directory (taken recursively) or a glob (``**`` spans directories),
    relative to ``base_dir`` or absolute. Keys keep the layout relative to ``base_dir``; a path
    outside it keeps its layout relative to its parent (``/data/x/y.csv`` -> ``y.csv``, the
    directory ``/data/x`` -> ``x/...``), and a glob outside it relative to the glob's fixed
    leading directories (``/data/*/y.csv`` -> ``a/y.csv``). The plan is sorted by key.
    """
    base = Path(os.path.abspath(base_dir))
    planned: dict[str, Path] = {}
    for pattern in patterns:
        found = list(_expand(pattern, base))
        if not found:
            raise ConfigurationError(f"input {pattern!r}: no such file or directory "
                                     f"(relative paths start at {base})")
        for path, key in found:
            _check_input_key(key, pattern)
            previous = planned.get(key)
            if previous is not None and previous != path:
                raise ConfigurationError(
                    f"input {pattern!r}: {path} and {previous} would both be staged as {key!r}; "
                    "rename one or stage their directories instead"
                )
            planned[key] = path
    return [(planned[key], key) for key in sorted(planned)]


def _expand(pattern: str, base: Path) -> Iterator[tuple[Path, str]]:
    expanded = os.path.expanduser(pattern)
    absolute = Path(os.path.abspath(base / expanded))
    if not _GLOB_CHARS.intersection(expanded):
        if absolute.is_file():
            yield absolute, _key_for(absolute, base, absolute.parent)
        elif absolute.is_dir():
            yield from _walk(absolute, base, absolute.parent)
        return
    root = _glob_root(absolute)
    for match in sorted(glob.glob(str(absolute), recursive=True)):
        path = Path(match)
        if path.is_file():
            yield path, _key_for(path, base, root)
        elif path.is_dir():
            yield from _walk(path, base, root)


def _glob_root(pattern: Path) -> Path:
    """The leading directories of a glob pattern that contain no wildcard."""
    fixed = []
    for part in pattern.parts:
        if _GLOB_CHARS.intersection(part):
            break
        fixed.append(part)
    return Path(*fixed)


def _walk(directory: Path, base: Path, outside_root: Path) -> Iterator[tuple[Path, str]]:
    # Symlinked directories are not followed (cycles); symlinked files are staged as files.
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file():
                yield path, _key_for(path, base, outside_root)


def _key_for(path: Path, base: Path, outside_root: Path) -> str:
    root = base if path.is_relative_to(base) else outside_root
    return path.relative_to(root).as_posix()


def _check_input_key(key: str, pattern: str) -> None:
    parts = PurePosixPath(key).parts
    if not key or key.startswith("/") or ".." in parts or "." in parts:
        raise ConfigurationError(f"input {pattern!r}: cannot stage a file as {key!r}")
    if PurePosixPath(key).parts[0] == INTERNAL_DIR:
        raise ConfigurationError(
            f"input {pattern!r}: {key!r} is under {INTERNAL_DIR}/, which batchmagic reserves "
            "for its own files; move or rename it"
        )

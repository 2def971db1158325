"""Refuse a misspelled package or a version that does not exist before anything is uploaded.

Each explicit requirement that this kernel cannot vouch for (not installed here at a version
it allows) is looked up with ``pip index versions NAME`` against the package index pip is
configured with, in parallel, answers cached for the kernel's life. When the index cannot be
reached (offline, proxy, timeout) the check is skipped: the job's own install reports the
problem then. Only a clear "no such project" or "no version matches" is an error.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from batchmagic.errors import ConfigurationError

LOOKUP_TIMEOUT_S = 15.0
_VERSIONS = re.compile(r"^Available versions:\s*(.*)$", re.MULTILINE)
_NOT_FOUND = "No matching distribution found"
# pip says "not found" also when it could not ask: these mean the answer is unknown.
_OFFLINE = ("connection", "could not fetch", "retrying", "timed out", "ssl", "proxy")
# name -> available versions, None when the project does not exist, absent when unknown.
_cache: dict[str, list[str] | None] = {}
_lock = threading.Lock()


def _vouched_by_kernel(requirement: Requirement) -> bool:
    try:
        version = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        return False
    return requirement.specifier.contains(version, prereleases=True)


def available_versions(name: str) -> list[str] | bool | None:
    """The index's versions of ``name``; None: no such project; False: could not tell."""
    key = canonicalize_name(name)
    with _lock:
        if key in _cache:
            return _cache[key]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "index", "versions", name, "--pre",
             "--disable-pip-version-check", "--no-input", "--timeout", "5", "--retries", "0"],
            capture_output=True, text=True, timeout=LOOKUP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return False
    match = _VERSIONS.search(done.stdout)
    if done.returncode == 0 and match:
        result: list[str] | None = [v.strip() for v in match.group(1).split(",") if v.strip()]
    elif _NOT_FOUND in done.stderr and not any(m in done.stderr.lower() for m in _OFFLINE):
        result = None
    else:
        return False
    with _lock:
        _cache[key] = result
    return result


def _problem(requirement: Requirement, origin: str = "--pip") -> str | None:
    versions = available_versions(requirement.name)
    if versions is False:
        return None
    if versions is None:
        return (f"{origin} {requirement}: no package named {requirement.name!r} on the package "
                "index (misspelled?)")
    assert isinstance(versions, list)
    if not requirement.specifier:
        return None
    matching = []
    for text in versions:
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if requirement.specifier.contains(version, prereleases=True):
            matching.append(text)
    if matching:
        return None
    shown = ", ".join(versions[:8]) + (" …" if len(versions) > 8 else "")
    return (f"{origin} {requirement}: no such version of {requirement.name} on the package index "
            f"(available: {shown or 'none'})")


def check_on_index(requirements: Sequence[Requirement],
                   origins: Sequence[str] | None = None) -> None:
    """ConfigurationError for the first requirement the index cannot satisfy."""
    named = list(zip(requirements, origins or ["--pip"] * len(requirements), strict=True))
    todo = [(r, o) for r, o in named if not r.url and not _vouched_by_kernel(r)]
    if not todo:
        return
    with ThreadPoolExecutor(max_workers=min(8, len(todo))) as pool:
        problems = list(pool.map(lambda pair: _problem(*pair), todo))
    for problem in problems:
        if problem:
            raise ConfigurationError(problem)

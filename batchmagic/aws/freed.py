"""Give memory that big transfers freed back to the system (glibc only; a no-op elsewhere).

A download's chunks are allocated by s3transfer's worker threads; glibc keeps what they free
in per-thread arenas, so a kernel that downloaded gigabytes stays tens of MB bigger for the
rest of its life. ``malloc_trim(0)`` returns the free pages of every arena at once (a few
milliseconds); nothing in use moves.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from typing import Any


@functools.cache
def _trim() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


def release_freed_memory() -> None:
    trim = _trim()
    if trim is not None:
        trim(0)

"""Which Python environment an emulator runs in: one background emulator per environment.

``python`` and ``python3`` of one venv are two paths to the same interpreter in the same
environment, and jobs run with the emulator's interpreter, so the identity is the resolved
environment directory (``sys.prefix``) and the resolved interpreter binary, not the path the
process happened to be started with.
"""

from __future__ import annotations

import os
import sys


def interpreter_id(executable: str | None = None, prefix: str | None = None) -> str:
    """``<resolved sys.prefix>|<resolved interpreter>`` of this process (or of the given ones)."""
    executable = executable or sys.executable
    prefix = prefix or sys.prefix
    return f"{os.path.realpath(prefix)}|{os.path.realpath(executable)}"

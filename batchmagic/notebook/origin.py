"""Where a run came from: the notebook and the cell, when the frontend says (for the ledger)."""

from __future__ import annotations

import os
from typing import Any


def run_origin(shell: Any, namespace: dict[str, Any]) -> dict[str, str | None]:
    """``{"notebook": ..., "cell_id": ...}``: Jupyter's session name and the cell's id from the
    request's metadata; None where the frontend does not say (a terminal IPython)."""
    kernel = getattr(shell, "kernel", None)
    parent = kernel.get_parent() if kernel is not None and hasattr(kernel, "get_parent") else {}
    metadata = (parent or {}).get("metadata") or {}
    notebook = os.environ.get("JPY_SESSION_NAME") or namespace.get("__session__")
    return {"notebook": notebook or None, "cell_id": metadata.get("cellId")}

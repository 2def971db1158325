"""Pickles across versions: what the side that pickles says about itself, and the short table
of module versions that differ when the other side cannot unpickle.

Shipped next to ``bootstrap.py`` (standard library only, Python 3.8+ syntax) and used by the
kernel too: pushed values carry a manifest in ``env.json`` (``push_manifest``), pulled ones in
``result.json`` (``pull_manifest``): ``{"python": "3.11.7", "modules": {"pandas": "2.2.2"}}``.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from typing import Any

SPEC_FILE = "env.json"


def _is_stdlib(module: str) -> bool:
    names = getattr(sys, "stdlib_module_names", None)  # Python >= 3.10
    if names is not None:
        return module in names
    if module in sys.builtin_module_names:
        return True
    import sysconfig

    path = getattr(sys.modules.get(module), "__file__", None) or ""
    return path.startswith(sysconfig.get_paths()["stdlib"]) and "-packages" not in path


def modules_of(values: Any) -> list[str]:
    """Top-level modules of the values' types (and of their items, one level deep)."""
    found: list[str] = []
    for value in values:
        items = [value]
        if isinstance(value, dict):
            items += list(value.values())[:100]
        elif isinstance(value, (list, tuple, set, frozenset)):
            items += list(value)[:100]
        for item in items:
            module = (getattr(type(item), "__module__", None) or "").split(".")[0]
            if module and module != "__main__" and not _is_stdlib(module):
                found.append(module)
    return sorted(set(found))


def module_version(module: str) -> str | None:
    """The installed version of the distribution providing ``module``, else its __version__."""
    try:
        from importlib import metadata

        mapping = getattr(metadata, "packages_distributions", None)
        names = (mapping() if mapping else {}).get(module) or [module]
        return str(metadata.version(names[0]))
    except Exception:  # not installed as a distribution (stdlib, a plain module)
        loaded = sys.modules.get(module)
        version = getattr(loaded, "__version__", None)
        return str(version) if version is not None else None


def manifest(values: Any) -> dict[str, Any]:
    """What the side that pickles says about itself, for the side that unpickles."""
    modules = {m: module_version(m) for m in modules_of(values)}
    return {"python": "{}.{}.{}".format(*sys.version_info[:3]),
            "modules": {m: v for m, v in modules.items() if v}}


def version_table(manifest: dict[str, Any], theirs: str, ours: str,
                  ours_of: Any = None) -> str:
    """Module, their version, our version: the rows that differ (and Python)."""
    ours_of = ours_of or module_version
    rows = [("python", str(manifest.get("python", "?")), "{}.{}.{}".format(*sys.version_info[:3]))]
    for module, version in sorted((manifest.get("modules") or {}).items()):
        rows.append((module, str(version), ours_of(module) or "not installed"))
    differ = [row for row in rows if row[1] != row[2]] or rows
    width = max(len(r[0]) for r in [*differ, ("module", "", "")])
    lines = ["  {}  {}  {}".format("module".ljust(width), theirs.ljust(14), ours)]
    lines += [f"  {m.ljust(width)}  {a.ljust(14)}  {b}" for m, a, b in differ]
    return "\n".join(lines)


class PickleMismatch(Exception):
    """The pushed values cannot be unpickled in the job; the message has the version table."""


def load_explained(handle: Any, internal: str) -> Any:
    """``pickle.load``; when it fails and the kernel said what it pickled with (``env.json``'s
    push_manifest), PickleMismatch with the versions that differ."""
    try:
        return pickle.load(handle)
    except Exception as error:
        try:
            with open(os.path.join(internal, SPEC_FILE), encoding="utf-8") as spec:
                pushed_with = json.load(spec).get("push_manifest")
        except (OSError, ValueError):
            pushed_with = None
        if not pushed_with:
            raise
        raise PickleMismatch(
            f"the --push values cannot be unpickled in the job ({type(error).__name__}: "
            f"{error}); versions differ (add --pip NAME==VERSION to match the kernel):\n"
            + version_table(pushed_with, "kernel", "job")) from None

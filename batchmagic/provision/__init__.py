"""Provisioning: `batchmagic setup`, `doctor` and `teardown`, and their Python API.

``ensure_setup`` creates what a batchmagic run needs in an AWS account (or the embedded emulator)
and reuses what exists; ``run_doctor`` checks a configured setup; ``teardown`` removes what setup
created, found by its tags. The names are imported lazily so ``batchmagic --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CheckResult",
    "ResourceResult",
    "SetupResult",
    "ensure_setup",
    "render_checks_html",
    "render_checks_text",
    "run_doctor",
    "teardown",
]

_HOMES = {
    "CheckResult": "batchmagic.provision.doctor",
    "run_doctor": "batchmagic.provision.doctor",
    "render_checks_text": "batchmagic.provision.report",
    "render_checks_html": "batchmagic.provision.report",
    "ResourceResult": "batchmagic.provision.report",
    "SetupResult": "batchmagic.provision.setup",
    "ensure_setup": "batchmagic.provision.setup",
    "teardown": "batchmagic.provision.teardown",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(name)

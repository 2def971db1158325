"""The local emulator's process, started as soon as the extension begins to load.

Importing the magics (IPython's machinery, boto3, the run modules) takes about a quarter of a
second, and the emulator's process about half a second to serve. When no layer holds AWS
settings (the rule every cell follows, ``config.local_when_unset``; the IPython configuration
is read from the shell's config, as the magics' traits will be), the process is started first,
so both happen at once. ``run.prestart`` then finds it starting and waits for it.

Nothing here reports: the first cell starts the emulator itself if needed and says what failed.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from batchmagic.config import ConfigLayers, local_when_unset
from batchmagic.run.prestart import prestart_enabled
from batchmagic.settings import SETTING_NAMES

log = logging.getLogger(__name__)
MAGICS_CONFIG = "AwsBatchMagics"  # the magics class's name: its section of IPython's config


def start_local_emulator(shell: Any) -> threading.Thread | None:
    """Start the per-user emulator in a background thread if cells will run locally."""
    try:
        config = getattr(shell, "config", None) or {}
        section = dict(config[MAGICS_CONFIG]) if MAGICS_CONFIG in config else {}
        layers = ConfigLayers(config={k: v for k, v in section.items() if k in SETTING_NAMES})
        settings, _ = local_when_unset(*layers.resolve())
    except Exception:  # bad settings: the magics say so when they load
        log.debug("reading the settings early failed", exc_info=True)
        return None
    if not settings.local or not prestart_enabled():
        return None
    thread = threading.Thread(target=_start, name="batchmagic-local-start", daemon=True)
    thread.start()
    return thread


def _start() -> None:
    try:
        from batchmagic.emulator.daemon import ensure_background_emulator

        ensure_background_emulator()
    except Exception:  # the first cell tries again and reports
        log.debug("starting the local emulator early failed", exc_info=True)

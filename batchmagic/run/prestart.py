"""The local emulator, ready before the first ``--local`` cell.

Starting the per-user background emulator, setting it up (roles, compute environment, queue,
bucket, log group: what ``batchmagic setup`` creates) and building the boto3 clients takes
seconds the first time. When the extension loads without any AWS settings, every cell will run
on the emulator, so that work starts at once in a background thread; the first cell then finds
it done, or waits only for the rest (``resolve_target`` serialises with it). Nothing runs when
AWS settings exist, or with ``BATCHMAGIC_EMULATOR_PRESTART=0``.

Failures here are not reported: the cell that needs the emulator does the same work again and
reports any error in its own words.
"""

from __future__ import annotations

import logging
import os
import threading

from batchmagic.settings import Settings

log = logging.getLogger(__name__)
PRESTART_VARIABLE = "BATCHMAGIC_EMULATOR_PRESTART"


def prestart_enabled() -> bool:
    return os.environ.get(PRESTART_VARIABLE, "1").strip().lower() not in ("0", "false", "no")


def prestart_local(settings: Settings) -> threading.Thread | None:
    """Start the emulator and its setup in a background thread, if ``settings`` are local."""
    if not settings.local or not prestart_enabled():
        return None
    thread = threading.Thread(target=_prepare_local, args=(settings,),
                              name="batchmagic-local-prestart", daemon=True)
    thread.start()
    return thread


def _prepare_local(settings: Settings) -> None:
    try:
        from batchmagic.aws.clients import AwsClients, load_models
        from batchmagic.run.target import local_target, resolve_target

        # While the emulator process starts, this process reads the service models its
        # clients need (a tenth of a second or more each), so setup's clients are made at once.
        models = threading.Thread(target=load_models, name="batchmagic-local-models",
                                  daemon=True)
        models.start()
        local_target()  # started, or found running
        models.join()
        target, _ = resolve_target(settings)
        clients = AwsClients.shared(target)
        for name in ("batch", "s3", "logs", "logs_streaming"):
            getattr(clients, name)
    except Exception:  # the first cell repeats this and reports what went wrong
        log.debug("preparing the local emulator failed", exc_info=True)

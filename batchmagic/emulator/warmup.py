"""A ready emulator, and how its process gives memory back.

- **Ready before the first request.** ``warm_up()`` runs in a background thread when an
  emulator starts: it imports and creates moto's backends for the services batchmagic uses
  (STS, S3, Logs, IAM, EC2; moto would do it on each service's first request, in the middle of
  a user's first cell) and starts the warm AWS CLI that sidecars are forked from.
- **Memory returned.** ``return_freed_memory()`` (for the emulator's own process only): with
  glibc's default, the threshold above which allocations get their own mapping grows with the
  largest block freed, up to 32 MiB, so after a few 16 MiB request bodies they come from the
  heap and stay resident. A fixed threshold (glibc's 128 KiB default) and two arenas keep big
  buffers in mappings that go back to the system when freed, and a periodic ``malloc_trim``
  returns the free pages left inside the heap (imports and setup leave tens of MB).
"""

from __future__ import annotations

import ctypes
import gc
import logging
import sys
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

# glibc mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def _start_warm_aws_cli() -> None:
    from batchmagic.emulator import forkserver

    try:
        forkserver.shared().start()
    except OSError:  # the first sidecar tries again, and reports
        log.exception("the warm AWS CLI did not start")


def warm_up(region: str = "us-east-1") -> None:
    """Start the warm AWS CLI, load moto's backends of the services batchmagic calls."""
    try:
        from batchmagic.emulator import forkserver, iampolicies, motoload

        if forkserver.wanted(forkserver.own_aws_cli()):  # a process of its own: start it first
            threading.Thread(target=_start_warm_aws_cli, name="batchmagic-awscli-start",
                             daemon=True).start()
        from moto.backends import get_backend
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.core.utils import get_service_model

        # In the order a first setup calls them (GetCallerIdentity reads IAM).
        with motoload.models_read_once():
            for service in ("sts", "iam", "logs", "s3", "ec2"):
                if service == "ec2":
                    motoload.import_ec2_models()
                backends: Any = get_backend(service)
                regions = backends[DEFAULT_ACCOUNT_ID]
                name = region if region in regions.regions else next(iter(regions.regions),
                                                                      None)
                if name is not None:
                    regions[name]
                # The botocore model moto parses requests and writes answers with.
                get_service_model(service)
                if service == "iam":  # where each AWS managed policy is (setup attaches one)
                    iampolicies.catalog_index()
        gc.collect()
    except Exception:  # a cold emulator still works: each backend loads on its first request
        log.exception("emulator warm-up failed")


def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        # glibc's soname; ctypes.util.find_library("c") would run `ldconfig -p` to find it.
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt  # noqa: B018 - glibc has it; other C libraries may not
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def return_freed_memory(every_s: float = 10.0) -> None:
    """Fixed mmap threshold and two malloc arenas, and free heap pages handed back to the
    system every ``every_s`` seconds (``malloc_trim``: a few milliseconds). glibc only."""
    libc = _libc()
    if libc is None:
        return
    libc.mallopt(_M_ARENA_MAX, 2)
    libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)

    def trim() -> None:
        while True:
            time.sleep(every_s)
            libc.malloc_trim(0)

    threading.Thread(target=trim, name="batchmagic-emulator-trim", daemon=True).start()

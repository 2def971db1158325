"""A light, ready emulator: what it loads, when, and how its process gives memory back.

- **EC2 data on demand.** Importing moto's EC2 models reads the instance type offerings of
  every region and availability zone (about 100 MB of small dicts, a second of CPU), which
  only DescribeInstanceTypeOfferings, spot price history and instance-type validation read.
  ``defer_instance_type_offerings()`` (before moto's EC2 is imported) makes moto's import read
  none of them; each region's file is read the first time that region is asked for. The
  answers are the same.
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
import ctypes.util
import gc
import logging
import sys
import threading
import time
from typing import Any

_OFFERINGS_PATH = "ec2/resources/instance_type_offerings/"
log = logging.getLogger(__name__)

# glibc mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


_DEFERRED: tuple[()] = ()  # what moto's import gets instead of an offerings file


class _OfferingsOnDemand(dict[str, Any]):
    """``{region: [offering, ...]}`` of one location type, each region read when first asked."""

    def __init__(self, location_type: str, load: Any) -> None:
        super().__init__()
        self.location_type = location_type
        self._load = load

    def __setitem__(self, region: str, offerings: Any) -> None:
        if offerings is not _DEFERRED:  # moto's import stores what it read: nothing yet
            super().__setitem__(region, offerings)

    def __missing__(self, region: str) -> list[dict[str, Any]]:
        try:
            offerings: list[dict[str, Any]] = self._load(
                f"{_OFFERINGS_PATH}{self.location_type}/{region}.json")
        except FileNotFoundError:
            raise KeyError(region) from None
        for offering in offerings:
            offering["LocationType"] = self.location_type  # as moto's own import does
        self[region] = offerings
        return offerings

    def get(self, region: str, default: Any = None) -> Any:
        try:
            return self[region]
        except KeyError:
            return default


def defer_instance_type_offerings() -> None:
    """Make moto's EC2 import read no offerings file, and each region's file read on demand.

    Call before moto's EC2 models are imported. While ``moto.ec2.models.instance_types`` runs
    its import-time loop (``INSTANCE_TYPE_OFFERINGS[type][region] = load_resource(file)``),
    each call puts an on-demand table in place of that location type's dict and returns a
    marker the table does not store.
    """
    if "moto.ec2.models.instance_types" in sys.modules:
        return
    import moto.utilities.utils as utils

    original = utils.load_resource
    if getattr(original, "batchmagic_deferred", False):
        return

    def load_resource(resource: str) -> Any:
        module = sys.modules.get("moto.ec2.models.instance_types")
        if not resource.startswith(_OFFERINGS_PATH) or module is None:
            return original(resource)
        location_type = resource[len(_OFFERINGS_PATH):].split("/", 1)[0]
        table = module.INSTANCE_TYPE_OFFERINGS
        if not isinstance(table.get(location_type), _OfferingsOnDemand):
            table[location_type] = _OfferingsOnDemand(location_type, original)
        return _DEFERRED

    load_resource.batchmagic_deferred = True  # type: ignore[attr-defined]
    utils.load_resource = load_resource


def warm_up(region: str = "us-east-1") -> None:
    """Load moto's backends of the services batchmagic calls, start the warm AWS CLI."""
    try:
        from moto.backends import get_backend
        from moto.core.models import DEFAULT_ACCOUNT_ID

        for service in ("sts", "s3", "logs", "iam", "ec2"):
            backends: Any = get_backend(service)
            regions = backends[DEFAULT_ACCOUNT_ID]
            name = region if region in regions.regions else next(iter(regions.regions), None)
            if name is not None:
                regions[name]
        # moto keeps one boto3 session to list each service's regions when a backend is
        # first made; its loader caches the parsed endpoints and partitions (about 20 MB).
        # The backends are made now: let it go (a later new service makes a new one).
        from moto.core.base_backend import AccountSpecificBackend

        AccountSpecificBackend.get_session.cache_clear()
        gc.collect()
        from batchmagic.emulator import forkserver

        if forkserver.wanted(forkserver.own_aws_cli()):
            forkserver.shared().start()
    except Exception:  # a cold emulator still works: each backend loads on its first request
        log.exception("emulator warm-up failed")


def _libc() -> Any:
    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(name)
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

"""How the emulator reads moto's data: only what is asked for, and each file once.

- **EC2 offerings on demand.** Importing moto's EC2 models reads the instance type offerings of
  every region and availability zone (about 100 MB of small dicts, a second of CPU), which
  only DescribeInstanceTypeOfferings, spot price history and instance-type validation read.
  ``defer_instance_type_offerings()`` (before moto's EC2 is imported) makes moto's import read
  none of them; each region's file is read the first time that region is asked for. The
  answers are the same.
- **Each botocore model parsed once.** moto reads a service's botocore model three ways: to
  list the service's regions when its first backend is made (through one boto3 session), for
  every request it parses and answers (with a new loader per service), and, importing its EC2
  models, to list EC2's regions in three partitions (three new boto3 sessions). Each reads the
  JSON again - EC2's model is the biggest botocore has, a tenth of a second or more each time.
  Within ``models_read_once()`` one loader, moto's own, answers all of them: the same models
  and region lists, each file parsed once. ``import_ec2_models()`` imports moto's EC2 within
  it, with the offerings deferred.
- **Service names listed once.** For the first error of each service, moto finds the botocore
  service of the exception's package by making a new boto3 session and listing every service
  botocore knows (hundreds of directories, about 15 ms each time). ``list_service_names_once()``
  lists them once for all packages: the same answers.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_OFFERINGS_PATH = "ec2/resources/instance_type_offerings/"
# Held while the patches below are in place: one thread at a time, so that the originals are
# always what is put back.
_patch_lock = threading.RLock()

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



@contextmanager
def models_read_once() -> Iterator[None]:
    """Within: moto's service models, its backends' region lists and any boto3 session's
    ``get_available_regions`` read through one loader (moto's: botocore's data and moto's
    extras). Afterwards the loader is let go (the models moto keeps stay)."""
    import moto.core.utils as utils
    from boto3.session import Session
    from moto.core.base_backend import AccountSpecificBackend

    with _patch_lock:
        create_loader = utils.create_loader  # type: ignore[attr-defined]
        list_regions = Session.get_available_regions
        loader = create_loader()
        regions_session = AccountSpecificBackend.get_session()  # moto's, for backends' regions
        regions_session._session.register_component("data_loader", loader)

        def get_available_regions(self: Session, service_name: str,
                                  partition_name: str = "aws",
                                  allow_non_regional: bool = False) -> list[str]:
            regions: list[str] = list_regions(regions_session, service_name, partition_name,
                                              allow_non_regional)
            return regions

        utils.create_loader = lambda: loader  # type: ignore[attr-defined]
        Session.get_available_regions = get_available_regions
        try:
            yield
        finally:
            utils.create_loader = create_loader  # type: ignore[attr-defined]
            Session.get_available_regions = list_regions
            # moto's session keeps the loader, and with it every model it read (about 20 MB);
            # the backends are made: a later new service makes a new session.
            AccountSpecificBackend.get_session.cache_clear()


def import_ec2_models() -> None:
    """Import moto's EC2 models: offerings deferred, every model and region list read once;
    default AMIs made on first use (``defaultamis``)."""
    from batchmagic.emulator import defaultamis

    if "moto.ec2.models" not in sys.modules:  # else imported, or being imported (import waits)
        defer_instance_type_offerings()
        with models_read_once():
            import moto.ec2.models  # noqa: F401
    defaultamis.defer_default_amis()


@functools.cache
def _service_names() -> dict[str, str]:
    from boto3.session import Session

    # As moto builds it: botocore's service names by moto's package names (hyphens dropped).
    return {name.replace("-", ""): name for name in Session().get_available_services()}


def _service_name_from_moto_package_name(moto_package_name: str) -> str:
    return _service_names().get(moto_package_name, moto_package_name)


def list_service_names_once() -> None:
    """moto's package name -> botocore service name, from one listing of botocore's services."""
    import moto.core.utils as utils

    if utils.service_name_from_moto_package_name is not _service_name_from_moto_package_name:
        moto_lookup.append(utils.service_name_from_moto_package_name)
        replacement: Any = _service_name_from_moto_package_name
        utils.service_name_from_moto_package_name = replacement


moto_lookup: list[Any] = []  # moto's own lookup, replaced (for the tests' comparison)

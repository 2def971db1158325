"""moto's default AMIs, made when the images, snapshots or volumes of a region are first read.

As in a real account, public Amazon images exist (DescribeImages ``Owners=amazon``, the ECS
optimized AMIs, ...), each with the snapshot AWS makes for it. moto makes all of them, about
1,300 images with a snapshot each (and a volume made and deleted for each), when a region's EC2
backend is made: about a third of the EC2 backend's start, in the middle of a first setup that
only asks for the default VPC, its subnets and a security group.

``defer_default_amis()`` leaves each EC2 backend made from then on without them, and makes them
(moto's own ``_load_amis``, so every image and snapshot is moto's) the first time anything reads
or writes the backend's ``amis``, ``snapshots`` or ``volumes``: DescribeImages, DescribeSnapshots,
CreateTags on an image, RunInstances, CreateImage, the tagging API, ... - whatever the action,
from whichever thread. Default images carry no tags, so DescribeTags answers the same either way.
Reads from other threads wait while the images are being made.
"""

from __future__ import annotations

import threading
from typing import Any

_PENDING = "_batchmagic_amis_pending"
_LOADING = "_batchmagic_amis_loading"
_LAZY = ("amis", "snapshots", "volumes")
_lock = threading.RLock()


def _make_pending(backend: Any, load: Any) -> None:
    state = backend.__dict__
    with _lock:
        if not state.get(_PENDING) or state.get(_LOADING):
            return
        state[_LOADING] = True
        try:
            load(backend)
        finally:
            state[_PENDING] = False
            state[_LOADING] = False


def pending(backend: Any) -> bool:
    """Whether this EC2 backend's default AMIs are still to be made."""
    return bool(backend.__dict__.get(_PENDING))


def defer_default_amis() -> None:
    """Make every moto EC2 backend made from now on make its default AMIs on first use."""
    from moto.ec2.models import EC2Backend

    if getattr(EC2Backend, "batchmagic_lazy_amis", False):
        return
    original_load = EC2Backend._load_amis

    def load_amis(self: Any) -> None:
        self.__dict__[_PENDING] = True  # made by the first read of _LAZY

    def lazy(name: str) -> property:
        def read(self: Any) -> Any:
            if self.__dict__.get(_PENDING):
                _make_pending(self, original_load)
            return self.__dict__[name]

        def write(self: Any, value: Any) -> None:
            self.__dict__[name] = value  # moto's __init__ sets each to {}

        return property(read, write)

    for name in _LAZY:
        setattr(EC2Backend, name, lazy(name))
    setattr(EC2Backend, "_load_amis", load_amis)  # noqa: B010 - patched on moto's class
    setattr(EC2Backend, "batchmagic_lazy_amis", True)  # noqa: B010

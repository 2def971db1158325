"""Where a run goes: the region, and AWS or the per-user local emulator.

In local mode the emulator gets exactly what ``batchmagic setup`` creates in a real account
(roles, compute environment, queue, bucket, log group), once per emulator.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Collection
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError

from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.errors import ConfigurationError
from batchmagic.settings import Settings

# The settings that setup produced on each local emulator (by URL), so setup runs once.
_local_settings: dict[str, dict[str, Any]] = {}
_local_setup_lock = threading.Lock()  # a cell waits for a setup in progress (prestart.py)


def resolve_region(settings: Settings) -> str:
    """The region: the setting, else the profile's / AWS_REGION's, else us-east-1."""
    if settings.region:
        return settings.region
    if settings.local:
        return "us-east-1"
    try:
        session_region = boto3.Session(profile_name=settings.profile).region_name
    except BotoCoreError as error:  # reading local configuration (ProfileNotFound), no AWS call
        raise ConfigurationError(f"AWS profile {settings.profile!r}: {error}") from None
    return str(session_region or "us-east-1")


def _an_emulator(settings: Settings) -> bool:
    """One --endpoint-url for every service and no credentials anywhere: an emulator (ours, as
    `batchmagic setup --endpoint-url` set it up without credentials, or any that accepts any),
    reached with fixed credentials as the setup, doctor and teardown commands do. With a profile
    or credentials, those are used."""
    if not settings.endpoint_url or settings.profile:
        return False
    try:
        return boto3.Session().get_credentials() is None
    except BotoCoreError:  # a broken config file: the first call says what is wrong
        return False


def local_target() -> AwsTarget:
    """The per-user background emulator (started on first use, reused by later kernels)."""
    from batchmagic.emulator.daemon import ensure_background_emulator

    url = ensure_background_emulator()
    return AwsTarget(region="us-east-1", endpoint_url=url, emulator=True)


def resolve_target(settings: Settings, given: Collection[str] = ()) -> tuple[AwsTarget, Settings]:
    """Where this run goes, and the settings completed for it.

    In local mode the emulator gets exactly what `batchmagic setup` creates in a real account
    (roles, compute environment, queue, bucket, log group), once per emulator. ``--local``
    picks the endpoint only: a bucket or queue the user gave (``given``: names set on the cell
    or for the session) is used on the emulator - a missing bucket is created there, a
    missing queue is an error naming the queues that exist.
    """
    if not settings.local:
        target = AwsTarget(
            region=resolve_region(settings),
            profile=settings.profile,
            endpoint_url=settings.endpoint_url,
            emulator=_an_emulator(settings),
        )
        return target, settings
    target = local_target()
    key = (target.endpoint_url or "") + ("#spot" if settings.spot else "")
    with _local_setup_lock:
        if key not in _local_settings:
            from batchmagic.provision.setup import ensure_setup

            result = ensure_setup(AwsClients.shared(target), region=target.region,
                                  spot=settings.spot)
            _local_settings[key] = dict(result.settings)
    local = {
        k: v
        for k, v in _local_settings[key].items()
        if k in ("bucket", "queue", "compute_environment", "execution_role", "task_role",
                 "spot_queue") and not (k in given and getattr(settings, k))
    }
    if "bucket" in given and settings.bucket:
        _create_bucket_on_emulator(AwsClients.shared(target), settings.bucket)
    return target, settings.with_values(region=target.region, **local)


def _create_bucket_on_emulator(clients: AwsClients, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        clients.s3.head_bucket(Bucket=bucket)
    except ClientError:
        clients.s3.create_bucket(Bucket=bucket)


# Images already said to be run with the emulator's own Python (once per kernel each).
_said_not_emulated: set[str] = set()


def image_note(target: AwsTarget, image: str) -> str | None:
    """On the emulator, once per image: an image that is not emulated runs the cell with the
    emulator's Python and its packages (unlike AWS, where the image's own are used)."""
    if not target.emulator or image in _said_not_emulated:
        return None
    from batchmagic.emulator.images import is_emulated_python

    if is_emulated_python(image):
        return None
    _said_not_emulated.add(image)
    return f"image {image} is not emulated: main uses the emulator's Python"


def say_image_note(target: AwsTarget, image: str) -> None:
    """Print :func:`image_note`'s line, when there is one, to stderr."""
    note = image_note(target, image)
    if note:
        print(f"batchmagic: {note}", file=sys.stderr)

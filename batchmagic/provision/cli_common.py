"""What the setup, doctor and teardown commands share: target flags and the settings they read."""

from __future__ import annotations

import argparse
import os
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from batchmagic.aws.where import check_where
from batchmagic.settings import SETTING_NAMES, Settings, read_settings_file

if TYPE_CHECKING:
    from batchmagic.aws.clients import AwsClients, AwsTarget

DEFAULT_REGION = "us-east-1"


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """--region, --endpoint-url, --profile."""
    parser.add_argument("--region", help="AWS region (default: the settings file, "
                        "AWS_REGION / AWS_DEFAULT_REGION, the profile's region, else us-east-1)")
    parser.add_argument("--endpoint-url", help="one endpoint for every AWS service, e.g. the "
                        "batchmagic emulator (default: $AWS_ENDPOINT_URL)")
    parser.add_argument("--profile", help="AWS named profile for credentials")


def env_settings() -> dict[str, Any]:
    """``BATCHMAGIC_<NAME>`` environment variables, converted to each setting's type."""
    values: dict[str, Any] = {}
    types = {f.name: str(f.type) for f in fields(Settings)}
    for name in SETTING_NAMES:
        raw = os.environ.get(f"BATCHMAGIC_{name.upper()}")
        if raw is None or raw == "":
            continue
        kind = types[name]
        try:
            if kind.startswith("bool"):
                values[name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif kind.startswith("float"):
                values[name] = float(raw)
            elif kind.startswith("int"):
                values[name] = int(raw)
            else:
                values[name] = raw
        except ValueError:
            continue  # a malformed value is ignored here; the magic reports it when used
    return values


def _profile_region(profile: str | None) -> str | None:
    import boto3

    try:
        return boto3.Session(profile_name=profile).region_name  # type: ignore[no-any-return]
    except Exception:  # an unknown profile: the credential check reports it
        return None


def load_settings(args: argparse.Namespace, *, use_file: bool = True) -> Settings:
    """Settings from the file `batchmagic setup` wrote, then ``BATCHMAGIC_*``, then the flags.

    The endpoint URL falls back to the standard ``AWS_ENDPOINT_URL``; the region to the AWS
    environment and profile, then us-east-1. A malformed endpoint URL, an unknown region or
    an invalid bucket name raises ConfigurationError before any AWS call.
    """
    settings = Settings()
    if use_file:
        settings = settings.with_values(**read_settings_file())
    settings = settings.with_values(**env_settings())
    flags = {name: getattr(args, name, None) for name in SETTING_NAMES}
    settings = settings.with_values(**flags)
    if settings.endpoint_url is None:
        settings = settings.with_values(endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    if settings.region is None:
        region = (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
                  or _profile_region(settings.profile) or DEFAULT_REGION)
        settings = settings.with_values(region=region)
    check_where(settings)
    return settings


def target_for(settings: Settings) -> AwsTarget:
    """One endpoint URL for all services means an emulator (ours, or any that accepts any
    credentials): fixed credentials then keep the user's real keys off the wire."""
    from batchmagic.aws.clients import AwsTarget

    return AwsTarget(region=settings.region or DEFAULT_REGION, profile=settings.profile,
                     endpoint_url=settings.endpoint_url,
                     emulator=settings.endpoint_url is not None)


def clients_for(settings: Settings) -> AwsClients:
    from batchmagic.aws.clients import AwsClients

    return AwsClients(target_for(settings))

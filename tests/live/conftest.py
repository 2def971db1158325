"""The live suite: a few tests against a real AWS account, run with ``pytest -m aws``.

They use the account the user's credentials point at and the resources ``batchmagic setup``
created (its settings file, ``BATCHMAGIC_*`` variables). Without credentials or settings every
test is skipped and says why. They create one small job each and delete their S3 prefixes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ProfileNotFound

from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.config import environment_values
from batchmagic.settings import Settings, read_settings_file
from tests.conftest import USER_ENVIRONMENT


def _user_settings_file() -> Path:
    explicit = USER_ENVIRONMENT.get("BATCHMAGIC_CONFIG")
    if explicit:
        return Path(explicit)
    home = USER_ENVIRONMENT.get("HOME") or str(Path.home())
    base = USER_ENVIRONMENT.get("XDG_CONFIG_HOME") or str(Path(home) / ".config")
    return Path(base) / "batchmagic" / "settings.json"


@pytest.fixture(scope="session")
def aws_settings() -> Iterator[Settings]:
    """The user's settings for a real account, or a skip that says what is missing."""
    if USER_ENVIRONMENT.get("AWS_ENDPOINT_URL"):
        pytest.skip("AWS_ENDPOINT_URL is set: the live suite talks to AWS itself; unset it")
    path = _user_settings_file()
    saved = os.environ.get("BATCHMAGIC_CONFIG")
    os.environ["BATCHMAGIC_CONFIG"] = str(path)
    # The session has a home of its own; the live suite needs the user's AWS profiles.
    os.environ["HOME"] = USER_ENVIRONMENT.get("HOME", os.environ["HOME"])
    try:
        values = {**read_settings_file(), **environment_values(USER_ENVIRONMENT)}
        settings = Settings().with_values(**values)
        profile = settings.profile or USER_ENVIRONMENT.get("AWS_PROFILE")
        try:
            session = boto3.Session(profile_name=profile)
        except ProfileNotFound:
            pytest.skip(f"AWS profile {profile!r} not found: fix AWS_PROFILE or --profile")
        if session.get_credentials() is None:
            pytest.skip("no AWS credentials: configure a profile (aws configure / aws sso "
                        "login, AWS_PROFILE) or AWS_ACCESS_KEY_ID to run the live suite")
        if settings.endpoint_url:
            pytest.skip(f"the settings in {path} point at {settings.endpoint_url}, not AWS")
        if not settings.bucket or not (settings.queue or settings.compute_environment):
            pytest.skip(f"no bucket and queue configured ({path} missing or incomplete): run "
                        "`batchmagic setup --region REGION` first")
        yield settings.with_values(region=settings.region or session.region_name or "us-east-1")
    finally:
        if saved is None:
            os.environ.pop("BATCHMAGIC_CONFIG", None)
        else:
            os.environ["BATCHMAGIC_CONFIG"] = saved


@pytest.fixture(scope="session")
def aws_clients(aws_settings: Settings) -> AwsClients:
    return AwsClients(AwsTarget(region=aws_settings.region or "us-east-1",
                                profile=aws_settings.profile))

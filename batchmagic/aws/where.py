"""Where a run goes, checked before anything else: endpoint URL, region, bucket name.

Each mistake is one line naming the option, before any AWS call, upload or submit; the magic and
the setup, doctor and teardown commands check the same. Sources: S3 bucket naming rules
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html); the regions are
botocore's own endpoint data for AWS Batch, in every partition, so a region that botocore does
not know is refused (a new region needs a newer botocore, as it would to be reached at all).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import urlsplit

from batchmagic.errors import ConfigurationError
from batchmagic.settings import Settings

# Used with fullmatch: "$" would let a final "\n" through.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_BUCKET_RULES = ("3-63 characters: lowercase letters, digits, '.' and '-', starting and "
                 "ending with a letter or digit")


def check_where(settings: Settings) -> None:
    """Raise ConfigurationError for a malformed endpoint URL, bucket name or unknown region."""
    if settings.endpoint_url:
        check_endpoint_url(settings.endpoint_url)
    if settings.region:
        check_region(settings.region)
    if settings.bucket:
        check_bucket_name(settings.bucket)


def check_endpoint_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"--endpoint-url {url}: not an http(s) URL; use e.g. http://127.0.0.1:4566 or "
            "https://batch.eu-west-1.amazonaws.com")
    try:
        parts.port  # noqa: B018 - raises for a port out of range or not a number
    except ValueError:
        raise ConfigurationError(f"--endpoint-url {url}: the port is not a number in "
                                 "1-65535") from None


@functools.cache
def known_regions() -> frozenset[str]:
    import boto3

    session = boto3.session.Session()
    return frozenset(region for partition in session.get_available_partitions()
                     for region in session.get_available_regions("batch", partition))


def check_region(region: str) -> None:
    if region not in known_regions():
        raise ConfigurationError(
            f"--region {region}: not a region where AWS Batch is offered (e.g. us-east-1, "
            "eu-west-1, ap-southeast-2)")


def check_bucket_name(bucket: str) -> None:
    why = ""
    if not _BUCKET.fullmatch(bucket):
        why = _BUCKET_RULES
    elif ".." in bucket or ".-" in bucket or "-." in bucket:
        why = "no '..', '.-' or '-.' in a bucket name"
    elif bucket.startswith(("xn--", "sthree-")) or bucket.endswith(("-s3alias", "--ol-s3")):
        why = "names starting xn-- or sthree-, or ending -s3alias or --ol-s3, are reserved"
    else:
        try:
            ipaddress.IPv4Address(bucket)
            why = "a bucket name cannot look like an IP address"
        except ValueError:
            pass
    if why:
        raise ConfigurationError(f"--bucket {bucket}: not a valid S3 bucket name ({why})")

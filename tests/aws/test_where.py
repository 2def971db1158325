"""Where a run goes, checked before any AWS call: endpoint URL, region and bucket name, each
mistake one line naming the option."""

from __future__ import annotations

import pytest

from batchmagic.aws.where import (
    check_bucket_name,
    check_endpoint_url,
    check_region,
    check_where,
    known_regions,
)
from batchmagic.errors import ConfigurationError
from batchmagic.settings import Settings


@pytest.mark.parametrize("url", ["http://127.0.0.1:4566", "https://batch.eu-west-1.amazonaws.com",
                                 "http://localhost", "https://[::1]:443/path",
                                 "http://host:1", "http://host:65535"])
def test_http_and_https_endpoints_pass(url: str) -> None:
    check_endpoint_url(url)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:4566", "127.0.0.1:4566", "localhost",
                                 "http://", "https:///path", "file:///tmp/x"])
def test_an_endpoint_that_is_not_http_is_one_line_with_an_example(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_endpoint_url(url)
    assert str(caught.value) == (
        f"--endpoint-url {url}: not an http(s) URL; use e.g. http://127.0.0.1:4566 or "
        "https://batch.eu-west-1.amazonaws.com")


@pytest.mark.parametrize("url", ["http://127.0.0.1:65536", "http://127.0.0.1:45x6",
                                 "https://host:-1"])
def test_an_endpoint_port_out_of_range_or_not_a_number_is_named(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_endpoint_url(url)
    assert str(caught.value) == f"--endpoint-url {url}: the port is not a number in 1-65535"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_regions_are_those_of_aws_batch_in_every_partition() -> None:
    regions = known_regions()
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= regions
    assert "cn-north-1" in regions  # aws-cn partition
    assert "us-gov-west-1" in regions  # aws-us-gov partition
    check_region("eu-central-1")


@pytest.mark.parametrize("region", ["eu-west-9", "us-east1", "US-EAST-1", "mars-1"])
def test_an_unknown_region_is_refused_with_examples(region: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_region(region)
    assert str(caught.value) == (
        f"--region {region}: not a region where AWS Batch is offered (e.g. us-east-1, "
        "eu-west-1, ap-southeast-2)")


@pytest.mark.parametrize("bucket", ["abc", "a" * 63, "my-bucket.data-2", "0bucket9",
                                    "192.168.1", "bucket-s3alias-x", "x-xn--y", "sthree"])
def test_valid_bucket_names_pass(bucket: str) -> None:
    check_bucket_name(bucket)


_RULES = ("3-63 characters: lowercase letters, digits, '.' and '-', starting and ending with "
          "a letter or digit")
_PAIRS = "no '..', '.-' or '-.' in a bucket name"
_RESERVED = "names starting xn-- or sthree-, or ending -s3alias or --ol-s3, are reserved"


@pytest.mark.parametrize(("bucket", "why"), [
    ("ab", _RULES), ("a" * 64, _RULES), ("", _RULES), ("My-Bucket", _RULES),
    ("-bucket", _RULES), ("bucket-", _RULES), (".bucket", _RULES), ("bucket.", _RULES),
    ("my_bucket", _RULES), ("my bucket", _RULES), ("my-bucket\n", _RULES),
    ("my..bucket", _PAIRS), ("my.-bucket", _PAIRS), ("my-.bucket", _PAIRS),
    ("xn--bucket", _RESERVED), ("sthree-bucket", _RESERVED), ("bucket-s3alias", _RESERVED),
    ("bucket--ol-s3", _RESERVED),
    ("192.168.1.1", "a bucket name cannot look like an IP address"),
])
def test_an_invalid_bucket_name_says_which_rule(bucket: str, why: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_bucket_name(bucket)
    assert str(caught.value) == f"--bucket {bucket}: not a valid S3 bucket name ({why})"


def test_check_where_checks_each_configured_setting_and_skips_unset_ones() -> None:
    check_where(Settings())  # nothing configured: nothing to refuse
    check_where(Settings(endpoint_url="http://127.0.0.1:4566", region="us-east-1",
                         bucket="my-bucket"))
    for settings, option in [(Settings(endpoint_url="ftp://x"), "--endpoint-url"),
                             (Settings(region="nowhere-1"), "--region"),
                             (Settings(bucket="Bad_Bucket"), "--bucket")]:
        with pytest.raises(ConfigurationError, match=f"^{option} "):
            check_where(settings)

"""moto's serializer reads its own timestamps without dateutil, to the same datetimes."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.utils import parse_to_aware_datetime

from batchmagic.aws.timestamps import parse_timestamp
from batchmagic.emulator.serializing import plain_utc
from tests.helpers import client, unique

SAMPLES = ["2026-11-28T05:00:00.000Z", "2026-11-28T05:00:00Z", "2026-11-28T05:00:00+00:00",
           "2026-11-28T05:00:00.123456Z"]
NOT_PLAIN = ["2026-11-28T05:00:00+02:00", "2026-11-28T05:00:00", "2026-11-28", "1700000000",
             "Sat, 28 Nov 2026 05:00:00 GMT", "garbage"]


@pytest.mark.parametrize("value", SAMPLES)
def test_plain_timestamps_read_as_botocore_and_the_kernel_read_them(value: str) -> None:
    ours = plain_utc(value)
    assert ours is not None
    assert ours == parse_to_aware_datetime(value) == parse_timestamp(value)


@pytest.mark.parametrize("value", NOT_PLAIN)
def test_anything_else_is_left_to_botocore(value: str) -> None:
    assert plain_utc(value) is None


def test_listing_objects_parses_no_timestamp_with_dateutil(
        emulator_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.utils

    s3 = client(emulator_url, "s3")
    bucket = unique("serialize")
    s3.create_bucket(Bucket=bucket)
    for number in range(3):
        s3.put_object(Bucket=bucket, Key=f"k{number}", Body=b"x")
    callers: list[int] = []
    parse = botocore.utils.parse_timestamp

    def recorded(value: Any) -> Any:
        callers.append(threading.get_ident())
        return parse(value)

    # botocore's parse_to_aware_datetime reads strings with this (dateutil) function; the
    # test's own client parses the answer in this thread, which does not count.
    monkeypatch.setattr(botocore.utils, "parse_timestamp", recorded)
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [item["Key"] for item in listed] == ["k0", "k1", "k2"]
    assert [ident for ident in callers if ident != threading.get_ident()] == []

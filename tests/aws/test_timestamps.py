"""Response timestamps: the datetimes botocore would give, without dateutil for plain ones."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.timestamps import parse_timestamp

SAMPLES = [
    "Sat, 28 Nov 2026 05:00:00 GMT",       # an RFC 7231 header (Last-Modified)
    "2026-11-28T05:00:00.000Z",            # ISO 8601 in XML bodies (ListObjectsV2)
    "2026-11-28T05:00:00Z",
    "2026-11-28T05:00:00.123456789Z",      # more digits than microseconds
    "2026-11-28T05:00:00+02:00",           # another offset: botocore's own parser
    "2026-11-28T05:00:00",                 # no zone at all: botocore's own parser
    "1700000000",                          # epoch seconds
    1700000000.5,
]


@pytest.mark.parametrize("value", SAMPLES)
def test_the_same_datetime_as_botocore(value: object) -> None:
    ours, theirs = parse_timestamp(value), botocore_parse_timestamp(value)
    assert ours == theirs
    assert (ours.tzinfo is None) == (theirs.tzinfo is None)


def test_garbage_is_refused_as_botocore_refuses_it() -> None:
    with pytest.raises(ValueError):
        parse_timestamp("not a date")


def test_s3_timestamps_are_parsed_without_dateutil(clients: AwsClients, bucket: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import botocore.utils

    clients.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    callers: list[int] = []
    parse = botocore.utils._parse_timestamp_with_tzinfo

    def recorded(*args: Any, **kwargs: Any) -> Any:
        callers.append(threading.get_ident())
        return parse(*args, **kwargs)

    # botocore's parse_timestamp reads strings with dateutil in this function (moto's
    # serializers use it as well, in the emulator's threads: only this thread counts).
    monkeypatch.setattr(botocore.utils, "_parse_timestamp_with_tzinfo", recorded)
    modified = clients.s3.get_object(Bucket=bucket, Key="k")["LastModified"]
    listed = clients.s3.list_objects_v2(Bucket=bucket)["Contents"][0]["LastModified"]
    assert threading.get_ident() not in callers
    assert modified.utcoffset().total_seconds() == 0
    assert abs((listed - modified).total_seconds()) < 1

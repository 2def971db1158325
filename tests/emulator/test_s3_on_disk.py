"""Big S3 objects stay on disk in the emulator: streamed out, assembled without whole copies,
with the same ETags, checksums and ranges as moto computes (and AWS documents)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import client, unique

MiB = 1024 * 1024
PART = 8 * MiB


def pattern(size: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * (MiB // 32)
    return (block * (size // MiB + 1))[:size]


def crc32(data: bytes) -> bytes:
    return binascii.crc32(data).to_bytes(4, "big")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def s3(emulator_url: str) -> Any:
    return client(emulator_url, "s3")


@pytest.fixture(scope="module")
def bucket(s3: Any) -> str:
    name = unique("ondisk")
    s3.create_bucket(Bucket=name)
    return name


def multipart(s3: Any, bucket: str, key: str, parts: list[bytes], **create: Any) -> dict[str, Any]:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    done = []
    for number, data in enumerate(parts, start=1):
        extra = {"ChecksumAlgorithm": create["ChecksumAlgorithm"]} if create else {}
        answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number,
                                Body=data, **extra)
        part = {"PartNumber": number, "ETag": answer["ETag"]}
        if "ChecksumCRC32" in answer:
            part["ChecksumCRC32"] = answer["ChecksumCRC32"]
        done.append(part)
    finish: dict[str, Any] = {}
    if create.get("ChecksumType") == "FULL_OBJECT":
        finish["ChecksumCRC32"] = b64(crc32(b"".join(parts)))
    return dict(s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                             MultipartUpload={"Parts": done}, **finish))


def peak_bytes(action: Callable[[], Any]) -> int:
    """Peak of Python allocations in this process (the session emulator runs in it too)."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_multipart_object_has_aws_etag_and_composite_checksum(s3: Any, bucket: str) -> None:
    parts = [pattern(PART, 1), pattern(PART, 2), pattern(MiB, 3)]
    multipart(s3, bucket, "composite", parts, ChecksumAlgorithm="CRC32")
    head = s3.head_object(Bucket=bucket, Key="composite", ChecksumMode="ENABLED")
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    assert head["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-3"'
    assert head["ContentLength"] == 2 * PART + MiB
    composite = b64(crc32(b"".join(crc32(p) for p in parts)))
    # (AWS appends "-3", the part count; moto's HeadObject leaves it out)
    assert head["ChecksumCRC32"].split("-")[0] == composite
    assert s3.get_object(Bucket=bucket, Key="composite")["Body"].read() == b"".join(parts)


def test_multipart_object_with_a_full_object_checksum(s3: Any, bucket: str) -> None:
    parts = [pattern(PART, 4), pattern(2 * MiB, 5)]
    multipart(s3, bucket, "full", parts, ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")
    head = s3.head_object(Bucket=bucket, Key="full", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == b64(crc32(b"".join(parts)))


def test_ranges_of_a_big_object(s3: Any, bucket: str) -> None:
    data = pattern(3 * PART, 6)
    s3.put_object(Bucket=bucket, Key="ranged", Body=data)
    for header, expected in [("bytes=0-0", data[:1]), ("bytes=100-199", data[100:200]),
                             (f"bytes={PART - 5}-{PART + 5}", data[PART - 5:PART + 6]),
                             ("bytes=-7", data[-7:]), (f"bytes={len(data) - 3}-", data[-3:]),
                             (f"bytes=5-{len(data) * 2}", data[5:])]:
        answer = s3.get_object(Bucket=bucket, Key="ranged", Range=header)
        assert answer["Body"].read() == expected, header
        assert answer["ContentLength"] == len(expected)
        assert answer["ContentRange"].endswith(f"/{len(data)}")
    assert s3.get_object(Bucket=bucket, Key="ranged")["Body"].read() == data


def test_a_small_range_of_a_big_object_is_not_read_whole(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="sparse-read", Body=pattern(4 * PART, 7))

    def read_a_kilobyte() -> None:
        body = s3.get_object(Bucket=bucket, Key="sparse-read", Range="bytes=1000-1999")["Body"]
        assert len(body.read()) == 1000

    assert peak_bytes(read_a_kilobyte) < 4 * MiB  # the object is 32 MiB


def test_completing_a_multipart_upload_does_not_join_it_in_memory(s3: Any, bucket: str) -> None:
    parts = [pattern(PART, 8), pattern(PART, 9), pattern(PART, 10)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="joined")["UploadId"]
    done = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key="joined", UploadId=upload,
                                                      PartNumber=n, Body=p)["ETag"]}
            for n, p in enumerate(parts, start=1)]
    peak = peak_bytes(lambda: s3.complete_multipart_upload(
        Bucket=bucket, Key="joined", UploadId=upload, MultipartUpload={"Parts": done}))
    assert peak < 8 * MiB  # the object is 24 MiB
    assert s3.get_object(Bucket=bucket, Key="joined")["Body"].read() == b"".join(parts)


def test_a_download_in_progress_survives_the_object_being_deleted(s3: Any, bucket: str) -> None:
    data = pattern(4 * PART, 11)
    s3.put_object(Bucket=bucket, Key="going", Body=data)
    body = s3.get_object(Bucket=bucket, Key="going")["Body"]
    first = body.read(MiB)
    s3.delete_object(Bucket=bucket, Key="going")
    assert first + body.read() == data

"""Small files travel in one request each, on the long-lived transfer pool."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from batchmagic.aws import smallobjects
from batchmagic.aws.clients import AwsClients
from batchmagic.aws.download import download_outputs
from batchmagic.aws.staging import RunLocation, upload

MiB = 1024 * 1024


def _record_puts(clients: AwsClients) -> dict[str, dict[str, str]]:
    """Headers of every PutObject the client sends, by key (as they go on the wire)."""
    seen: dict[str, dict[str, str]] = {}

    def record(request: Any, **kwargs: Any) -> None:
        if request.method == "PUT" and "uploadId" not in request.url:
            seen[request.url.rsplit("/", 1)[-1]] = dict(request.headers)

    clients.s3.meta.events.register("before-send.s3.PutObject", record)
    return seen


def test_small_puts_skip_the_100_continue_round_trip(clients: AwsClients, location: RunLocation,
                                                     tmp_path: Path) -> None:
    small, medium = tmp_path / "small.txt", tmp_path / "medium.bin"
    small.write_bytes(b"x" * 4096)
    medium.write_bytes(os.urandom(smallobjects.SMALL_OBJECT + 1))
    seen = _record_puts(clients)
    upload(clients, location, [(small, "small.txt"), (medium, "medium.bin")],
           {"blob.bin": b"y" * 100})
    assert set(seen) == {"small.txt", "medium.bin", "blob.bin"}
    assert "Expect" not in seen["small.txt"] and "Expect" not in seen["blob.bin"]
    # Bigger bodies keep it: the server may refuse on the headers before the body is sent.
    assert seen["medium.bin"]["Expect"] == b"100-continue"


def test_small_and_big_files_come_back_whole(clients: AwsClients, location: RunLocation,
                                             tmp_path: Path) -> None:
    sources = {f"s{i}.txt": os.urandom(100 * i) for i in range(20)}
    sources["big.bin"] = os.urandom(smallobjects.SMALL_OBJECT * 2 + 3)
    for name, data in sources.items():
        path = tmp_path / "src" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    out = RunLocation(location.bucket, location.run_prefix + "/in/run")
    upload(clients, location, [(tmp_path / "src" / n, f"run/out/{n}") for n in sources],
           {"run/out/.batchmagic/result.json": b'{"ok": true}'})
    result = download_outputs(clients, out, tmp_path / "dest")
    assert {p.name: p.read_bytes() for p in result.files} == sources
    assert result.internal == {".batchmagic/result.json": b'{"ok": true}'}
    assert not list((tmp_path / "dest").glob(".*.part"))


def test_a_small_object_changed_since_the_listing_is_not_mixed_in(
        clients: AwsClients, location: RunLocation, tmp_path: Path) -> None:
    # As s3transfer does: GetObject carries IfMatch with the listed ETag.
    from batchmagic.aws.destinations import S3Object
    from batchmagic.aws.progress import ProgressSubscriber

    clients.s3.put_object(Bucket=location.bucket, Key="k", Body=b"first")
    listed = clients.s3.list_objects_v2(Bucket=location.bucket, Prefix="k")["Contents"][0]
    clients.s3.put_object(Bucket=location.bucket, Key="k", Body=b"second")
    future = smallobjects.get_object(
        clients.s3, location.bucket, S3Object("k", 5, listed["ETag"]), tmp_path / "k",
        ProgressSubscriber("download", 5, 1, None))
    error = future.exception()
    assert error is not None and "PreconditionFailed" in str(error)

"""Staging on the emulator: what each failure says, the run's S3 layout, and the requests made."""

from __future__ import annotations

import _thread
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchmagic.aws import smallobjects
from batchmagic.aws.clients import AwsClients
from batchmagic.aws.download import download_outputs
from batchmagic.aws.staging import (
    RunLocation,
    check_bucket,
    delete_prefix,
    list_objects,
    new_run_id,
    upload,
)
from batchmagic.errors import ConfigurationError, StagingError


@pytest.fixture()
def calls(clients: AwsClients) -> Counter[str]:
    """The S3 operations these clients send, counted as they leave (the real requests)."""
    counted: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counted[model.name] += 1

    clients.s3.meta.events.register("before-call.s3", count)
    return counted


def test_run_ids_are_utc_whatever_the_local_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: another day than UTC
    time.tzset()
    try:
        before = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        run_id = new_run_id()
        after = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    finally:
        monkeypatch.undo()
        time.tzset()
    assert before <= run_id[:15] <= after
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", run_id)


def test_slashes_around_the_prefix_and_user_are_dropped() -> None:
    location = RunLocation.new("bkt", "/team/", "/alice/", "20261128-010203-abcdef")
    assert location.run_prefix == "team/alice/20261128-010203-abcdef"
    assert location.run_id == "20261128-010203-abcdef"


def test_an_input_that_is_gone_is_named_before_anything_is_sent(
        clients: AwsClients, location: RunLocation, tmp_path: Path,
        calls: Counter[str]) -> None:
    missing = tmp_path / "gone.csv"
    with pytest.raises(StagingError) as info:
        upload(clients, location, [(missing, "gone.csv")], {"cell.py": b"x = 1\n"})
    assert str(info.value) == f"cannot read input {missing}: No such file or directory"
    assert calls["PutObject"] == 0


def test_every_failed_upload_is_counted_in_one_line(clients: AwsClients,
                                                    tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(name)
    location = RunLocation("no-such-bucket-here", "p/u/r1")
    files = [(tmp_path / name, name) for name in ("a.txt", "b.txt", "c.txt")]
    with pytest.raises(StagingError) as info:
        upload(clients, location, files, {})
    assert str(info.value) == (
        f"could not upload {tmp_path / 'a.txt'} (and 2 more) (s3://no-such-bucket-here/p/u/r1/"
        "in/): PutObject failed: The specified bucket does not exist (NoSuchBucket) - fix: "
        "create the bucket or fix --bucket (`batchmagic setup` creates one)")
    assert info.value.code == "NoSuchBucket"


def test_a_local_failure_during_upload_names_the_file_and_the_error(
        clients: AwsClients, location: RunLocation, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    with pytest.raises(StagingError) as info:
        upload(clients, location, [(tmp_path / "sub", "sub")], {})
    assert str(info.value) == (
        f"could not upload {tmp_path / 'sub'} ({location.in_uri}): IsADirectoryError: "
        f"[Errno 21] Is a directory: '{tmp_path / 'sub'}'")


def test_a_missing_bucket_says_how_to_make_one(clients: AwsClients) -> None:
    with pytest.raises(ConfigurationError) as info:
        check_bucket(clients, "missing-bucket-xyz")
    assert str(info.value) == (
        f"S3 bucket 'missing-bucket-xyz' does not exist (on {clients.target.describe()}): run "
        "`batchmagic setup` to create one, or pass an existing bucket with --bucket")


def test_listing_reads_every_page_of_the_prefix_only(clients: AwsClients, location: RunLocation,
                                                    calls: Counter[str]) -> None:
    upload(clients, location, [], {f"k{i:04d}": b"x" for i in range(1001)})
    clients.s3.put_object(Bucket=location.bucket, Key=location.run_prefix + "-other/in/k",
                          Body=b"")
    calls.clear()
    objects = list_objects(clients, location.bucket, location.in_prefix)
    assert [obj.key for obj in objects] == [f"{location.in_prefix}k{i:04d}" for i in range(1001)]
    assert all(obj.size == 1 and obj.etag for obj in objects)
    assert calls["ListObjectsV2"] == 2  # S3 pages hold at most 1,000 keys


def test_deleting_a_run_takes_one_call_per_batch_of_keys(clients: AwsClients,
                                                         location: RunLocation,
                                                         calls: Counter[str]) -> None:
    upload(clients, location, [], {f"k{i}": b"" for i in range(24)})
    sizes: list[int] = []
    clients.s3.meta.events.register(
        "before-call.s3.DeleteObjects",
        lambda params, **_: sizes.append(params["body"].count(b"<Key>")))
    calls.clear()
    assert delete_prefix(clients, location, batch=10) == 24
    assert sizes == [10, 10, 4]
    assert list_objects(clients, location.bucket, location.run_prefix) == []
    assert delete_prefix(clients, location) == 0  # nothing left: no DeleteObjects at all
    assert sizes == [10, 10, 4]


def test_a_listing_error_names_what_was_being_listed(clients: AwsClients) -> None:
    with pytest.raises(StagingError) as info:
        list_objects(clients, "no-such-bucket-here", "p/")
    assert str(info.value).startswith("ListObjectsV2 s3://no-such-bucket-here/p/ failed: ")
    with pytest.raises(StagingError) as info:
        delete_prefix(clients, RunLocation("no-such-bucket-here", "p/u/r1"))
    assert str(info.value).startswith("deleting s3://no-such-bucket-here/p/u/r1/ failed: ")


@pytest.fixture()
def outputs(clients: AwsClients, location: RunLocation) -> Iterator[list[str]]:
    keys = [f"f{i}.bin" for i in range(12)]
    for key in keys:
        clients.s3.put_object(Bucket=location.bucket, Key=location.out_prefix + key,
                              Body=os.urandom(1024))
    yield keys


def test_a_download_asks_for_each_object_once(clients: AwsClients, location: RunLocation,
                                              tmp_path: Path, outputs: list[str],
                                              calls: Counter[str]) -> None:
    # The listing gives each object's size and ETag: no HeadObject before each GetObject.
    result = download_outputs(clients, location, tmp_path)
    assert sorted(p.name for p in result.files) == sorted(outputs)
    assert calls["HeadObject"] == 0
    assert calls["GetObject"] == len(outputs)


def test_files_and_blobs_over_the_small_object_size_arrive_whole(
        clients: AwsClients, location: RunLocation, tmp_path: Path,
        calls: Counter[str]) -> None:
    # Over 1 MiB, uploads go through s3transfer (a pushed DataFrame's pickle, a data file);
    # up to it, one PutObject each. Both halves must land at in/ + key, byte for byte.
    big_file, small_file = tmp_path / "big.bin", tmp_path / "small.bin"
    big_file.write_bytes(os.urandom(1024 * 1024 + 1))
    small_file.write_bytes(os.urandom(1024 * 1024))
    blobs = {".batchmagic/push.pkl": os.urandom(1024 * 1024 + 3),
             ".batchmagic/cell.py": b"print(1)\n"}
    sent = upload(clients, location, [(big_file, "data/big.bin"), (small_file, "small.bin")],
                  blobs)
    assert sent == 2 * 1024 * 1024 + 1 + 1024 * 1024 + 3 + 9
    expected = {"data/big.bin": big_file.read_bytes(), "small.bin": small_file.read_bytes(),
                **blobs}
    for key, body in expected.items():
        got = clients.s3.get_object(Bucket=location.bucket, Key=location.in_prefix + key)
        assert got["Body"].read() == body, key
    assert calls["PutObject"] == 4  # none multipart: 16 MiB is the multipart threshold


def test_deleting_never_asks_for_more_than_1000_keys_at_once(
        clients: AwsClients, location: RunLocation) -> None:
    # DeleteObjects takes at most 1,000 keys (https://docs.aws.amazon.com/AmazonS3/latest/API/
    # API_DeleteObjects.html), whatever batch the caller asks for.
    upload(clients, location, [], {f"k{i:04d}": b"" for i in range(1001)})
    sizes: list[int] = []
    clients.s3.meta.events.register(
        "before-call.s3.DeleteObjects",
        lambda params, **_: sizes.append(params["body"].count(b"<Key>")))
    trailing = RunLocation(location.bucket, location.run_prefix + "/")
    assert delete_prefix(clients, trailing, batch=5000) == 1001
    assert sizes == [1000, 1]
    assert list_objects(clients, location.bucket, location.run_prefix) == []



class _InterruptedBlobs(dict[str, bytes]):
    """Blobs whose handing out is interrupted (Ctrl-C) after the first one."""

    def items(self) -> Any:
        for number, item in enumerate(super().items()):
            if number == 1:
                raise KeyboardInterrupt
            yield item


class _InFlight:
    """How many calls of one S3 operation started and ended. Each start takes 50 ms (a slow
    network), so everything is handed to the transfer threads before much is sent."""

    def __init__(self, clients: AwsClients, operation: str) -> None:
        self._lock = threading.Lock()
        self._started = self._ended = 0
        clients.s3.meta.events.register(f"before-call.s3.{operation}", self._start)
        clients.s3.meta.events.register(f"after-call.s3.{operation}", self._end)

    def _start(self, **_: Any) -> None:
        with self._lock:
            self._started += 1
        time.sleep(0.05)

    def _end(self, **_: Any) -> None:
        with self._lock:
            self._ended += 1

    def now(self) -> tuple[int, int]:
        """(started, ended) so far."""
        with self._lock:
            return self._started, self._ended


@pytest.mark.parametrize("when", ["while waiting", "while handing out"])
def test_an_interrupted_upload_cancels_the_rest_and_leaves_nothing_in_flight(
        clients: AwsClients, location: RunLocation, tmp_path: Path, when: str) -> None:
    # Ctrl-C while inputs go up: the files not yet sent are cancelled and the ones under way
    # are waited for, so nothing is written under in/ once upload() has raised.
    files = []
    for i in range(120):
        path = tmp_path / f"f{i:03d}.txt"
        path.write_bytes(b"x" * 1000)
        files.append((path, path.name))
    interrupted: list[bool] = []
    calls = _InFlight(clients, "PutObject")

    def progress(_: Any) -> None:
        if when == "while waiting" and not interrupted:
            interrupted.append(True)
            _thread.interrupt_main()  # Ctrl-C, as the kernel's main thread gets it

    blobs = {"a.bin": b"a", "b.bin": b"b"}
    if when == "while handing out":
        blobs = _InterruptedBlobs(blobs)
    with pytest.raises(KeyboardInterrupt):
        upload(clients, location, files, blobs, progress=progress)
    at_return = calls.now()
    assert at_return[0] == at_return[1], "a PutObject was still under way after upload()"
    assert at_return[0] < len(files), "nothing was cancelled"
    time.sleep(0.2)
    assert calls.now() == at_return, "a PutObject started after upload() raised"
    assert len(list_objects(clients, location.bucket, location.in_prefix)) == at_return[0]


def test_a_download_interrupted_while_handing_out_leaves_no_part_file(
        clients: AwsClients, location: RunLocation, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C while the objects are still being handed to the transfer threads: the ones handed
    # out are cancelled or waited for, so none writes a temp file after the cleanup.
    for i in range(120):
        clients.s3.put_object(Bucket=location.bucket, Key=f"{location.out_prefix}f{i:03d}.txt",
                              Body=b"x" * 1000)
    calls = _InFlight(clients, "GetObject")
    handed_out = []
    real_get_object = smallobjects.get_object

    def interrupted_at_the_60th(*args: Any) -> Any:
        handed_out.append(args)
        if len(handed_out) == 60:
            raise KeyboardInterrupt
        return real_get_object(*args)

    monkeypatch.setattr(smallobjects, "get_object", interrupted_at_the_60th)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        download_outputs(clients, location, out)
    at_return = calls.now()
    assert at_return[0] == at_return[1], "a GetObject was still under way after the download"
    assert at_return[0] < 59, "nothing was cancelled"
    time.sleep(0.2)
    assert calls.now() == at_return, "a GetObject started after the download raised"
    assert [path.name for path in out.rglob("*")] == []

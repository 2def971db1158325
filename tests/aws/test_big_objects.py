"""Big outputs come down in ranged parts, each written in place on the transfer pool."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from batchmagic.aws import bigobjects
from batchmagic.aws.clients import AwsClients
from batchmagic.aws.download import download_outputs
from batchmagic.aws.staging import RunLocation

MiB = 1024 * 1024


def _put(clients: AwsClients, location: RunLocation, key: str, data: bytes) -> None:
    clients.s3.put_object(Bucket=location.bucket, Key=location.out_prefix + key, Body=data)


def _record_gets(clients: AwsClients) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **kwargs: Any) -> None:
        seen.append(dict(params))

    clients.s3.meta.events.register("provide-client-params.s3.GetObject", record)
    return seen


def test_a_big_output_arrives_whole_from_ranged_parts(
        clients: AwsClients, location: RunLocation, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bigobjects, "PART", 1 * MiB)
    data = os.urandom(3 * MiB + MiB // 2)
    _put(clients, location, "big.bin", data)
    gets = _record_gets(clients)
    seen: list[Any] = []
    result = download_outputs(clients, location, tmp_path, progress=seen.append)
    assert result.files == [tmp_path / "big.bin"]
    assert (tmp_path / "big.bin").read_bytes() == data
    ranges = sorted(get["Range"] for get in gets if get["Key"].endswith("big.bin"))
    assert ranges == [f"bytes={start}-{min(start + MiB, len(data)) - 1}"
                      for start in range(0, len(data), MiB)]
    assert all(get.get("IfMatch") for get in gets)
    assert (seen[-1].bytes_done, seen[-1].files_done) == (len(data), 1)


def test_a_big_output_replaced_since_the_listing_is_skipped_not_mixed(
        clients: AwsClients, location: RunLocation, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bigobjects, "PART", 1 * MiB)
    _put(clients, location, "big.bin", os.urandom(2 * MiB + 1))
    _put(clients, location, "small.txt", b"fine")
    replaced = threading.Event()

    def replace_first(params: dict[str, Any], **kwargs: Any) -> None:
        if params["Key"].endswith("big.bin") and not replaced.is_set():
            replaced.set()
            _put(clients, location, "big.bin", os.urandom(2 * MiB + 1))

    clients.s3.meta.events.register("provide-client-params.s3.GetObject", replace_first)
    try:
        result = download_outputs(clients, location, tmp_path)
    finally:
        clients.s3.meta.events.unregister("provide-client-params.s3.GetObject", replace_first)
    assert result.files == [tmp_path / "small.txt"]
    assert [key.rsplit("/", 1)[-1] for key, _ in result.skipped] == ["big.bin"]
    assert "PreconditionFailed" in result.skipped[0][1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.txt"]


def test_a_stopped_big_download_leaves_no_partial_file(
        clients: AwsClients, location: RunLocation, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bigobjects, "PART", 1 * MiB)
    _put(clients, location, "big.bin", os.urandom(6 * MiB))
    stop = threading.Event()

    def stop_at_the_first_bytes(progress: Any) -> None:
        stop.set()

    result = download_outputs(clients, location, tmp_path / "out", stop=stop,
                              progress=stop_at_the_first_bytes)
    assert result.stopped and result.files == []
    assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == []


def test_a_big_internal_file_comes_back_in_memory_and_leaves_nothing(
        clients: AwsClients, location: RunLocation, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bigobjects, "PART", 1 * MiB)
    pickled = os.urandom(2 * MiB + 5)  # pulled variables bigger than a small object
    _put(clients, location, ".batchmagic/pull.pkl", pickled)
    _put(clients, location, "note.txt", b"hi")
    gets = _record_gets(clients)
    result = download_outputs(clients, location, tmp_path)
    assert result.internal == {".batchmagic/pull.pkl": pickled}
    assert [p.name for p in tmp_path.iterdir()] == ["note.txt"]  # no scratch left behind
    assert len([get for get in gets if get["Key"].endswith("pull.pkl")]) == 3  # in parts

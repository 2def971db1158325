"""Progress of multi-file uploads and downloads on the emulator, from s3transfer's callbacks."""

from __future__ import annotations

import os
from pathlib import Path

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.download import download_outputs
from batchmagic.aws.progress import TransferProgress
from batchmagic.aws.staging import RunLocation, upload

MiB = 1024 * 1024


def _files(root: Path) -> list[tuple[Path, str]]:
    """Twelve small files and one that goes out in several chunks (and one empty file)."""
    root.mkdir()
    planned = []
    for i in range(12):
        path = root / f"small-{i:02d}.txt"
        path.write_bytes(os.urandom(1000 + i))
        planned.append((path, path.name))
    big = root / "big.bin"
    big.write_bytes(os.urandom(3 * MiB + 17))
    empty = root / "empty.txt"
    empty.write_bytes(b"")
    return [*planned, (big, big.name), (empty, empty.name)]


def _assert_monotonic_to_the_total(events: list[TransferProgress], direction: str,
                                   total_bytes: int, total_files: int) -> None:
    assert events, "no progress reported"
    assert {e.direction for e in events} == {direction}
    assert {(e.bytes_total, e.files_total) for e in events} == {(total_bytes, total_files)}
    done = [(e.bytes_done, e.files_done) for e in events]
    assert done == sorted(done), "bytes and files only ever go up"
    assert [e.elapsed for e in events] == sorted(e.elapsed for e in events)
    assert all(0 <= e.bytes_done <= total_bytes for e in events)
    last = events[-1]
    assert (last.bytes_done, last.files_done) == (total_bytes, total_files)
    assert last.complete and last.fraction == 1.0
    # The big file was counted as its chunks went, not in one step at its end.
    assert len({e.bytes_done for e in events}) > total_files


def test_upload_reports_bytes_and_files_up_to_the_total(
    clients: AwsClients, location: RunLocation, tmp_path: Path
) -> None:
    planned = _files(tmp_path / "in")
    blobs = {".batchmagic/cell.py": b"print(1)\n"}
    events: list[TransferProgress] = []
    sent = upload(clients, location, planned, blobs, progress=events.append)
    total = sum(path.stat().st_size for path, _ in planned) + 9
    assert sent == total
    _assert_monotonic_to_the_total(events, "upload", total, len(planned) + 1)


def test_download_reports_bytes_and_files_up_to_the_total(
    clients: AwsClients, location: RunLocation, tmp_path: Path
) -> None:
    planned = _files(tmp_path / "made")
    for path, key in planned:
        clients.s3.put_object(Bucket=location.bucket, Key=location.out_prefix + key,
                              Body=path.read_bytes())
    clients.s3.put_object(Bucket=location.bucket,
                          Key=location.out_prefix + ".batchmagic/result.json", Body=b"{}")
    events: list[TransferProgress] = []
    result = download_outputs(clients, location, tmp_path / "back", progress=events.append)
    total = sum(path.stat().st_size for path, _ in planned) + 2
    assert result.bytes == total and len(result.files) == len(planned)
    _assert_monotonic_to_the_total(events, "download", total, len(planned) + 1)

"""Downloads of objects bigger than ``SMALL_OBJECT``: ranged GETs on the long-lived transfer
pool, each written in place with ``pwrite`` as it is read.

s3transfer's downloader reads each range in 256 KiB chunks on its worker threads and queues them
for one writer thread. The chunks are allocated in the workers' malloc arenas (glibc gives each
thread its own), and an arena keeps the free space at its top (up to glibc's trim threshold,
several MiB once 256 KiB blocks have come and gone; ``malloc_trim`` does not return the top of a
thread's arena): a kernel that downloaded a 2 GiB output stayed about 50 MiB bigger for the rest
of its life. Here each worker reads its range 64 KiB at a time and writes that piece at its
offset before reading the next, so it never holds more than one small buffer, and the threads
are the pool's own, reused by every download: what a download leaves behind is a few hundred
KiB, not tens of MiB, without touching the allocator's settings.

The requests are s3transfer's: one GetObject per ``PART`` bytes (``Range``), all with
``IfMatch`` on the listed ETag so that an object replaced meanwhile is refused rather than
mixed; a body cut midway is asked again from where it stopped (``DOWNLOAD_ATTEMPTS``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from typing import Any

from s3transfer.utils import S3_RETRYABLE_DOWNLOAD_ERRORS

from batchmagic.aws.destinations import S3Object
from batchmagic.aws.smallobjects import DOWNLOAD_ATTEMPTS, transfer_pool

MiB = 1024 * 1024
PART = 16 * MiB  # as the TransferConfig's multipart_chunksize
READ = 64 * 1024
REPORT_EVERY = 1 * MiB  # progress is reported per MiB, not per read


class ObjectDownload:
    """The future of one object's download: done when all of its parts are. Cancelled, parts
    not started never start and parts under way stop at their next read."""

    def __init__(self, parts: list[Future[None]], cancelled: threading.Event) -> None:
        self.parts = parts
        self._cancelled = cancelled

    def done(self) -> bool:
        return all(part.done() for part in self.parts)

    def cancel(self) -> bool:
        self._cancelled.set()
        return all([part.cancel() for part in self.parts])

    def result(self, timeout: float | None = None) -> None:
        error: BaseException | None = None
        for part in self.parts:
            try:
                part.result(timeout)
            except CancelledError as cancelled:
                error = error or cancelled
            except Exception as failed:  # the first real failure is the one reported
                if error is None or isinstance(error, CancelledError):
                    error = failed
        if error is not None:
            raise error


def download(s3: Any, bucket: str, obj: S3Object, path: str, progress: Any) -> ObjectDownload:
    """Download ``obj`` into the file ``path`` (created or truncated) in ranged parts."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        os.ftruncate(fd, obj.size)
    except OSError:
        os.close(fd)
        raise
    ranges = [(start, min(start + PART, obj.size)) for start in range(0, obj.size, PART)]
    finished = _Finisher(fd, len(ranges), lambda: progress.on_done(None))
    cancelled = threading.Event()
    pool = transfer_pool()
    parts = []
    for start, stop in ranges:
        part = pool.submit(_fetch_range, s3, bucket, obj,
                           _Target(fd, cancelled, progress, finished), start, stop)
        part.add_done_callback(finished.if_cancelled)
        parts.append(part)
    return ObjectDownload(parts, cancelled)


class _Target:
    """Where a part's bytes go, and whether to go on."""

    def __init__(self, fd: int, cancelled: threading.Event, progress: Any,
                 finisher: _Finisher) -> None:
        self.fd = fd
        self.cancelled = cancelled
        self.progress = progress
        self.finisher = finisher


class _WriteError(Exception):
    """Writing to the file failed: not a network error, never retried."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Finisher:
    """Closes the file once every part has ended (done, failed or cancelled) and reports the
    file done if they all succeeded. A part that runs tells it before its future completes
    (so a caller waiting on the futures sees the file closed and counted); a part cancelled
    before it started tells it from its future's callback."""

    def __init__(self, fd: int, parts: int, on_success: Callable[[], None]) -> None:
        self._fd = fd
        self._left = parts
        self._failed = False
        self._on_success = on_success
        self._lock = threading.Lock()

    def ended(self, *, failed: bool) -> None:
        with self._lock:
            self._left -= 1
            self._failed = self._failed or failed
            last = self._left == 0
        if last:
            os.close(self._fd)
            if not self._failed:
                self._on_success()

    def if_cancelled(self, part: Future[None]) -> None:
        if part.cancelled():
            self.ended(failed=True)


def _fetch_range(s3: Any, bucket: str, obj: S3Object, target: _Target, start: int,
                 stop: int) -> None:
    failed = True
    try:
        _fetch(s3, bucket, obj, target, start, stop)
        failed = False
    finally:
        target.finisher.ended(failed=failed)


def _fetch(s3: Any, bucket: str, obj: S3Object, target: _Target, start: int,
           stop: int) -> None:
    position = start
    attempt = 1
    extra = {"IfMatch": obj.etag} if obj.etag else {}
    while position < stop:
        try:
            body = s3.get_object(Bucket=bucket, Key=obj.key,
                                 Range=f"bytes={position}-{stop - 1}", **extra)["Body"]
            try:
                position = _copy(body, target, position, stop)
            finally:
                body.close()
        except _WriteError as failed:
            raise failed.error from None
        except S3_RETRYABLE_DOWNLOAD_ERRORS:
            if attempt == DOWNLOAD_ATTEMPTS:
                raise
            attempt += 1


def _copy(body: Any, target: _Target, position: int, stop: int) -> int:
    unreported = 0
    try:
        while position < stop:
            if target.cancelled.is_set():
                raise CancelledError()
            data = body.read(min(READ, stop - position))
            if not data:
                raise ConnectionError(f"the body ended {stop - position} bytes early")
            try:
                written = os.pwrite(target.fd, data, position)
                while written < len(data):  # a short write (rare on regular files)
                    written += os.pwrite(target.fd, data[written:], position + written)
            except OSError as error:
                raise _WriteError(error) from error
            position += len(data)
            unreported += len(data)
            if unreported >= REPORT_EVERY:
                target.progress.on_progress(None, bytes_transferred=unreported)
                unreported = 0
    finally:
        if unreported:
            target.progress.on_progress(None, bytes_transferred=unreported)
    return position

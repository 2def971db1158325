"""Small objects in one request each, on one long-lived pool of transfer threads.

For a file of a few KiB, s3transfer's machinery (a submission task, a transfer coordinator,
callbacks, a write queue to an I/O thread, a second temp file) costs more CPU than the request
itself. Objects up to ``SMALL_OBJECT`` bytes are therefore read into memory and sent with one
``PutObject``, and come back with one ``GetObject`` written straight to the caller's temp file:
the same requests s3transfer makes for them (``GetObject`` with ``IfMatch`` on the listed ETag),
minus the overhead.

``Expect: 100-continue``: botocore asks it on every PutObject, since it turns any body into a
file (``botocore/handlers.py``: ``convert_body_to_file_like_object``, ``add_expect_header``),
so each small PUT waits one round trip for the ``100 Continue`` before its body goes out. The
other AWS SDKs ask it only for big bodies: the Kotlin and Go v2 SDKs from 2 MB
(``continueHeaderThresholdBytes``, "Defaults to 2 megabytes"), the JavaScript v2 SDK from 1 MB.
``without_expect_for_small_puts`` drops it from PutObject requests of at most
``SMALL_OBJECT`` bytes, as they do.

The threads live as long as the process (``transfer_pool``) instead of being made for every
staging call: the many small files of one run, and every run after it, reuse them (and their
malloc arenas). At most ``POOL_THREADS`` small objects (16 MiB) are in memory at once.
"""

from __future__ import annotations

import atexit
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from botocore.utils import determine_content_length
from s3transfer.utils import S3_RETRYABLE_DOWNLOAD_ERRORS

from batchmagic.aws.destinations import S3Object

SMALL_OBJECT = 1024 * 1024
POOL_THREADS = 16
# As s3transfer: a body whose reading fails midway (a dropped connection, a read timeout) is
# requested again, up to this many attempts in all; botocore retries only the request itself.
DOWNLOAD_ATTEMPTS = 5
EXPECT_HOOK_ID = "batchmagic-small-put-without-expect"

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def transfer_pool() -> ThreadPoolExecutor:
    """The process's pool of small-object transfer threads (made on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="batchmagic-transfer")
            atexit.register(_pool.shutdown, wait=False, cancel_futures=True)
        return _pool


def wait_quietly(futures: list[Any]) -> None:
    """Wait until the pool's transfers among ``futures`` have ended (cancelled or not);
    s3transfer's own futures are left to their manager, which waits for them on exit."""
    for future in futures:
        if isinstance(future, Future):
            wait([future])
        elif hasattr(future, "parts"):  # bigobjects.ObjectDownload
            wait(future.parts)


def is_small(size: int) -> bool:
    return size <= SMALL_OBJECT


def _drop_expect(model: Any, params: dict[str, Any], **kwargs: Any) -> None:
    if model.name != "PutObject":
        return
    headers = params.get("headers", {})
    if "Expect" in headers and is_small(determine_content_length(params.get("body")) or 0):
        del headers["Expect"]


def without_expect_for_small_puts(s3: Any) -> None:
    """Register (once per client) the hook that sends small PutObject bodies at once. It must
    run after botocore's ``add_expect_header``, a ``before-call.s3`` handler: the same event,
    registered last (a handler of ``before-call.s3.PutObject`` would run before it)."""
    s3.meta.events.register_last("before-call.s3", _drop_expect, unique_id=EXPECT_HOOK_ID)


def put_file(s3: Any, path: Path, bucket: str, key: str, progress: Any) -> Future[None]:
    """PutObject of a small file, read when its turn comes."""
    without_expect_for_small_puts(s3)
    return transfer_pool().submit(_put, s3, bucket, key, progress, path=path)


def put_bytes(s3: Any, data: bytes, bucket: str, key: str, progress: Any) -> Future[None]:
    without_expect_for_small_puts(s3)
    return transfer_pool().submit(_put, s3, bucket, key, progress, data=data)


def _put(s3: Any, bucket: str, key: str, progress: Any, *, path: Path | None = None,
         data: bytes | None = None) -> None:
    body = path.read_bytes() if path is not None else data or b""
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    progress.on_progress(None, bytes_transferred=len(body))
    progress.on_done(None)


def get_object(s3: Any, bucket: str, obj: S3Object, sink: Path | Any,
               progress: Any) -> Future[None]:
    """GetObject of a small object into ``sink``: a file path (created or truncated) or a
    writable binary stream."""
    return transfer_pool().submit(_get, s3, bucket, obj, sink, progress)


def _get(s3: Any, bucket: str, obj: S3Object, sink: Path | Any, progress: Any) -> None:
    extra = {"IfMatch": obj.etag} if obj.etag else {}
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        try:
            body = s3.get_object(Bucket=bucket, Key=obj.key, **extra)["Body"].read()
            break
        except S3_RETRYABLE_DOWNLOAD_ERRORS:
            if attempt == DOWNLOAD_ATTEMPTS:
                raise
    if isinstance(sink, Path):
        with open(sink, "wb") as out:
            out.write(body)
    else:
        sink.write(body)
    progress.on_progress(None, bytes_transferred=len(body))
    progress.on_done(None)

"""The run's S3 layout, and moving files through it: inputs up, outputs down, cleanup.

Layout of one run: ``s3://BUCKET/PREFIX/USER/RUN_ID/in/...`` (what the stage-in sidecar copies
into the shared volume) and ``.../out/...`` (what the stage-out sidecar copies back). Keys under
``.batchmagic/`` in either half belong to batchmagic itself (the cell, the bootstrap, pickled
variables, the result) and never collide with the user's files.

Big files go through one s3transfer ``TransferManager`` per call: it splits them into concurrent
multipart parts, which is what ``aws s3 cp --recursive`` does too. Small ones (up to 1 MiB) go
in one request each on a long-lived pool of threads (``smallobjects.py``): the same requests,
without s3transfer's per-file overhead and the ``100-continue`` round trip of its uploads.
"""

from __future__ import annotations

import contextlib
import io
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from s3transfer.manager import TransferManager

from batchmagic.aws import smallobjects
from batchmagic.aws.clients import AwsClients
from batchmagic.aws.destinations import S3Object
from batchmagic.aws.errors import AWS_EXCEPTIONS, aws_errors, classify, describe, rephrased
from batchmagic.aws.progress import ProgressCallback, ProgressSubscriber
from batchmagic.errors import ConfigurationError, StagingError

MiB = 1024 * 1024

# Uploads of files over smallobjects.SMALL_OBJECT (downloads: bigobjects.py). Measured against
# the emulator with 64 x 4 MiB files at 4-32 parallel requests: 16 was best or level (at 32,
# big files got slower), and it stays within AwsClients' default connection pool (32) next to
# the 16 threads of the small-object pool. Files up to 16 MiB go in one PUT; bigger ones are
# split into 16 MiB parts (a 1 TiB file stays under the 10,000-part limit at 100 MiB parts,
# which s3transfer raises the part size to by itself when needed).
TRANSFER_CONFIG = TransferConfig(
    max_concurrency=16,
    multipart_threshold=16 * MiB,
    multipart_chunksize=16 * MiB,
    use_threads=True,
)


def new_run_id() -> str:
    """A unique run id that sorts by creation time (UTC): ``YYYYMMDD-HHMMSS-xxxxxx``."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class RunLocation:
    """Where one run lives in S3: ``s3://bucket/run_prefix/{in,out}/``."""

    bucket: str
    run_prefix: str

    @property
    def in_prefix(self) -> str:
        return f"{self.run_prefix}/in/"

    @property
    def out_prefix(self) -> str:
        return f"{self.run_prefix}/out/"

    @property
    def in_uri(self) -> str:
        return f"s3://{self.bucket}/{self.in_prefix}"

    @property
    def out_uri(self) -> str:
        return f"s3://{self.bucket}/{self.out_prefix}"

    @property
    def run_id(self) -> str:
        return self.run_prefix.rsplit("/", 1)[-1]

    @classmethod
    def new(cls, bucket: str, prefix: str, user: str, run_id: str | None = None) -> RunLocation:
        """The location ``prefix/user/RUN_ID`` (a fresh run id, sorting by creation time, unless
        given). Empty parts are left out: ``--prefix /`` puts runs at ``user/RUN_ID``, never
        at a key starting with ``/``."""
        parts = [p for p in (prefix.strip("/"), user.strip("/"), run_id or new_run_id()) if p]
        return cls(bucket=bucket, run_prefix="/".join(parts))


# ---------------------------------------------------------------------------------------------
# Transfers


def _manager(clients: AwsClients) -> TransferManager:
    return TransferManager(clients.s3, TRANSFER_CONFIG)


def upload(
    clients: AwsClients,
    location: RunLocation,
    files: Sequence[tuple[Path, str]],
    blobs: Mapping[str, bytes],
    *,
    progress: ProgressCallback | None = None,
) -> int:
    """Upload files and in-memory blobs to ``in/`` + key, concurrently; return the bytes sent.

    ``progress`` gets a :class:`TransferProgress` after each chunk and each finished file, from
    the transfer threads, in order.
    """
    try:
        sizes = [path.stat().st_size for path, _ in files]
    except OSError as exc:
        raise StagingError(f"cannot read input {exc.filename}: {exc.strerror}") from exc
    total = sum(sizes) + sum(len(data) for data in blobs.values())
    subscriber = ProgressSubscriber("upload", total, len(files) + len(blobs), progress)
    pending: list[tuple[str, Any]] = []
    bucket, s3 = location.bucket, clients.s3
    with _manager(clients) as manager, handing_out(pending):
        for (path, key), size in zip(files, sizes, strict=True):
            if smallobjects.is_small(size):
                future = smallobjects.put_file(s3, path, bucket, location.in_prefix + key,
                                               subscriber)
            else:
                future = manager.upload(str(path), bucket, location.in_prefix + key,
                                        subscribers=[subscriber])
            pending.append((str(path), future))
        for key, data in blobs.items():
            if smallobjects.is_small(len(data)):
                future = smallobjects.put_bytes(s3, data, bucket, location.in_prefix + key,
                                                subscriber)
            else:
                future = manager.upload(io.BytesIO(data), bucket, location.in_prefix + key,
                                        subscribers=[subscriber])
            pending.append((key, future))
        failures = _failures(pending)
    if failures:
        raise _failed("upload", failures, location.in_uri, "PutObject") from failures[0][1]
    return total


@contextlib.contextmanager
def handing_out(pending: list[tuple[str, Any]]) -> Iterator[None]:
    """Around handing transfers to their threads and waiting for them: interrupted (Ctrl-C) at
    any point, every transfer in ``pending`` not yet done is cancelled and the ones under way
    are waited for, so that nothing is written after the caller cleans up."""
    try:
        yield
    except BaseException:
        _stop(pending)
        raise


def _stop(pending: Sequence[tuple[str, Any]]) -> None:
    """Cancel every transfer not yet begun and wait for the ones under way."""
    for _, future in pending:
        future.cancel()
    smallobjects.wait_quietly([future for _, future in pending])


def _failures(pending: Sequence[tuple[str, Any]],
              stop: threading.Event | None = None) -> list[tuple[str, Exception]]:
    """Wait for every transfer; return ``(what, error)`` for each one that failed. When
    ``stop`` is set meanwhile, every transfer not yet done is cancelled."""
    if stop is not None:
        while not all(future.done() for _, future in pending):
            if stop.wait(0.05):
                for _, future in pending:
                    future.cancel()
                break
    failures = []
    for what, future in pending:
        try:
            future.result()
        except Exception as exc:  # any failure of one transfer is reported, not raised alone
            failures.append((what, exc))
    return failures


def _failed(verb: str, failures: Sequence[tuple[str, Exception]], where: str,
            operation: str) -> StagingError:
    """One StagingError for every failed transfer, classified by the first failure."""
    what, error = failures[0]
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    if not isinstance(error, AWS_EXCEPTIONS):
        return StagingError(f"could not {verb} {what}{more} ({where}): "
                            f"{type(error).__name__}: {error}")
    message = f"could not {verb} {what}{more} ({where}): {describe(error, operation)}"
    return classify(error, operation, StagingError, message=message)


def list_objects(clients: AwsClients, bucket: str, prefix: str) -> list[S3Object]:
    """Every object under a prefix, through the paginator (1000 keys per page), sorted by key."""
    paginator = clients.s3.get_paginator("list_objects_v2")
    found: list[S3Object] = []
    with aws_errors(f"ListObjectsV2 s3://{bucket}/{prefix}", StagingError):
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            found.extend(S3Object(obj["Key"], int(obj["Size"]), obj.get("ETag"))
                         for obj in page.get("Contents", []))
    return sorted(found, key=lambda obj: obj.key)


def list_keys(clients: AwsClients, bucket: str, prefix: str) -> list[tuple[str, int]]:
    """Every ``(key, size)`` under a prefix, sorted by key."""
    return [(obj.key, obj.size) for obj in list_objects(clients, bucket, prefix)]


def delete_prefix(clients: AwsClients, location: RunLocation, *, batch: int = 1000) -> int:
    """Delete every object of the run (``in/`` and ``out/``); return how many were deleted.

    ``batch`` keys per DeleteObjects call (at most 1000, the S3 limit).
    """
    prefix = location.run_prefix.rstrip("/") + "/"
    paginator = clients.s3.get_paginator("list_objects_v2")
    pages = {"PageSize": min(batch, 1000)}
    deleted = 0
    with aws_errors(f"deleting s3://{location.bucket}/{prefix}", StagingError):
        # A ListObjectsV2 page holds at most 1000 keys, the DeleteObjects limit: one call each.
        for page in paginator.paginate(Bucket=location.bucket, Prefix=prefix,
                                       PaginationConfig=pages):
            keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
            if not keys:
                continue
            response = clients.s3.delete_objects(
                Bucket=location.bucket, Delete={"Objects": keys, "Quiet": True}
            )
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise StagingError(
                    f"could not delete s3://{location.bucket}/{first.get('Key')}: "
                    f"{first.get('Message') or first.get('Code')} ({len(errors)} key(s) left)"
                )
            deleted += len(keys)
    return deleted


def check_bucket(clients: AwsClients, bucket: str) -> None:
    """Raise a clear error unless the bucket exists and these credentials may use it."""
    try:
        with aws_errors(f"HeadBucket {bucket}", StagingError):
            clients.s3.head_bucket(Bucket=bucket)
    except StagingError as error:
        # HeadBucket has no response body: the code is the bare HTTP status.
        if error.code in ("404", "NoSuchBucket"):
            raise rephrased(
                error, ConfigurationError,
                f"S3 bucket {bucket!r} does not exist (on {clients.target.describe()}): run "
                "`batchmagic setup` to create one, or pass an existing bucket with --bucket"
            ) from error
        if error.code in ("403", "AccessDenied"):
            raise rephrased(
                error, StagingError,
                f"S3 bucket {bucket!r} exists but these credentials may not use it: pass a "
                "bucket you own with --bucket, or allow s3:ListBucket/GetObject/PutObject on it"
            ) from error
        raise

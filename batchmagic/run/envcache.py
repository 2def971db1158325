"""Environments cached in the bucket: ``PREFIX/_envs/<key>.tar.gz`` and its lock file
``PREFIX/_envs/<key>.lock.json`` (what was installed, the archive's SHA-256 and size).

Restore: before submitting, the kernel reads the lock file; when it exists the archive is
copied server-side (CopyObject: no byte passes through the kernel) into the run's
``in/.batchmagic/env.tar.gz``, which stage-in brings into the work dir, and the job unpacks it
after checking its SHA-256 against the lock.

Build: the job packs what it installed into ``.batchmagic/env/`` of the work dir; stage-out
uploads it with the run's outputs (a key no other run writes); after the job the kernel copies
the archive to ``_envs/<key>.tar.gz`` and then writes the lock file, so a lock file always
names a complete archive. Two runs building the same key at once each copy a whole archive
(S3 replaces objects atomically); if one's lock file ends up next to the other's archive, the
next restore sees the checksum differ and builds again rather than use it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.download import DownloadResult, download_outputs
from batchmagic.aws.errors import aws_errors
from batchmagic.aws.staging import RunLocation
from batchmagic.errors import BatchMagicError, StagingError
from batchmagic.jobdef import layout
from batchmagic.run.envs import environment_spec
from batchmagic.run.prepare import PreparedRun

CACHE_DIR = "_envs"
ARCHIVE_SUFFIX = ".tar.gz"
LOCK_SUFFIX = ".lock.json"
_MISSING = ("NoSuchKey", "404", "NotFound")


def cache_prefix(prefix: str) -> str:
    """``PREFIX/_envs/`` (``_envs/`` for an empty or ``/`` prefix)."""
    parts = [p for p in (prefix.strip("/"), CACHE_DIR) if p]
    return "/".join(parts) + "/"


def cache_prefix_of_run(run_prefix: str) -> str:
    """The cache beside a run: ``PREFIX/USER/RUN_ID`` -> ``PREFIX/_envs/``."""
    return cache_prefix("/".join(run_prefix.split("/")[:-2]))


def read_lock(clients: AwsClients, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        with aws_errors(f"GetObject {key}", StagingError):
            body = clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except StagingError as error:
        if error.code in _MISSING:
            return None
        raise
    try:
        lock = json.loads(body)
    except ValueError:
        return None
    return lock if isinstance(lock, dict) and lock.get("sha256") else None


def stage_environment(clients: AwsClients, prepared: PreparedRun,
                      blobs: dict[str, bytes]) -> dict[str, bytes]:
    """Copy the cached environment into the run's inputs when there is one (not with
    ``--rebuild-env``); the blobs with the ``env.json`` that tells the job what to do."""
    packages = prepared.packages
    if packages is None or not packages.needs_environment or packages.rebuild:
        return blobs
    bucket = prepared.settings.bucket or ""
    base = cache_prefix(prepared.settings.prefix) + packages.key
    lock = read_lock(clients, bucket, base + LOCK_SUFFIX)
    if lock is None:
        return blobs
    location = prepared.location
    try:
        with aws_errors(f"CopyObject {base}{ARCHIVE_SUFFIX}", StagingError):
            clients.s3.copy({"Bucket": bucket, "Key": base + ARCHIVE_SUFFIX}, bucket,
                            location.in_prefix + layout.ENV_ARCHIVE_FILE)
    except StagingError as error:
        if error.code in _MISSING:
            return blobs  # the archive went away: build it again
        raise
    spec = environment_spec(packages, restore_sha256=str(lock["sha256"]))
    return {**blobs, layout.ENV_SPEC_FILE: spec}


def store_built_environment(clients: AwsClients, location: RunLocation) -> str | None:
    """After the job: file a freshly built environment under its key (archive first, then the
    lock file) and remove it from the run's outputs; a line saying so, or None."""
    out = location.out_prefix + layout.ENV_BUILD_DIR + "/"
    lock = read_lock(clients, location.bucket, out + layout.ENV_LOCK_NAME)
    if lock is None or not lock.get("key"):
        return None
    base = cache_prefix_of_run(location.run_prefix) + str(lock["key"])
    try:
        with aws_errors(f"CopyObject {base}{ARCHIVE_SUFFIX}"):
            clients.s3.copy({"Bucket": location.bucket,
                             "Key": out + layout.ENV_BUILD_ARCHIVE_NAME},
                            location.bucket, base + ARCHIVE_SUFFIX)
        lock["cached_at"] = time.time()
        with aws_errors(f"PutObject {base}{LOCK_SUFFIX}"):
            clients.s3.put_object(Bucket=location.bucket, Key=base + LOCK_SUFFIX,
                                  Body=json.dumps(lock, indent=2).encode(),
                                  ContentType="application/json")
        with aws_errors(f"DeleteObjects {out}"):
            clients.s3.delete_objects(Bucket=location.bucket, Delete={"Objects": [
                {"Key": out + layout.ENV_BUILD_ARCHIVE_NAME},
                {"Key": out + layout.ENV_LOCK_NAME}]})
    except BatchMagicError as error:
        return f"the built environment could not be cached ({error})"
    size = float(lock.get("size") or 0) / 1e6
    return (f"environment cached as s3://{location.bucket}/{base}{ARCHIVE_SUFFIX} "
            f"({size:.1f} MB); later runs with the same packages restore it")


@dataclass(frozen=True)
class CachedEnvironment:
    """One row of ``%aws_batch_envs``."""

    key: str
    size: int
    cached_at: float
    installed: tuple[str, ...]
    requirements: tuple[str, ...]
    python: str
    uri: str

    @property
    def age_s(self) -> float:
        return max(0.0, time.time() - self.cached_at)


def list_environments(clients: AwsClients, bucket: str, prefix: str) -> list[CachedEnvironment]:
    """The cached environments under ``PREFIX/_envs/``, newest first."""
    base = cache_prefix(prefix)
    found = []
    with aws_errors(f"ListObjectsV2 {base}", StagingError):
        pages = clients.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base)
        keys = [obj["Key"] for page in pages for obj in page.get("Contents") or []]
    for key in keys:
        if not key.endswith(LOCK_SUFFIX):
            continue
        lock = read_lock(clients, bucket, key)
        if lock is None:
            continue
        name = key[len(base):-len(LOCK_SUFFIX)]
        found.append(CachedEnvironment(
            key=name, size=int(lock.get("size") or 0),
            cached_at=float(lock.get("cached_at") or lock.get("built_at") or 0),
            installed=tuple(lock.get("installed") or ()),
            requirements=tuple(lock.get("requirements") or ()),
            python=str(lock.get("python") or ""),
            uri=f"s3://{bucket}/{base}{name}{ARCHIVE_SUFFIX}"))
    return sorted(found, key=lambda e: e.cached_at, reverse=True)


def download_after_filing(clients: AwsClients, location: RunLocation, output_dir: Path,
                          note: Callable[[str], None], **options: Any) -> DownloadResult:
    """The run's outputs (``download_outputs``), once an environment the job built is filed in
    the cache: its archive goes to ``_envs/``, never into the output directory or memory."""
    cached = store_built_environment(clients, location)
    if cached:
        note(cached)
    return download_outputs(clients, location, output_dir, **options)

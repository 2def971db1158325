"""Downloading a run's ``out/`` into the output directory, file by file.

Batchmagic's own files (result, pulled variables) come back in memory; every other key
becomes a file, written to a temp file and renamed into place. One bad key never costs the
others: it is skipped with its reason. A stop event cancels everything at once.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchmagic.aws import bigobjects, smallobjects
from batchmagic.aws.clients import AwsClients
from batchmagic.aws.destinations import S3Object, map_outputs
from batchmagic.aws.errors import AWS_EXCEPTIONS, describe
from batchmagic.aws.freed import release_freed_memory
from batchmagic.aws.progress import ProgressCallback, ProgressSubscriber
from batchmagic.aws.staging import RunLocation, _failed, _failures, handing_out, list_objects


@dataclass
class DownloadResult:
    """What came back from ``out/``: local files written, and batchmagic's own files in memory
    (``internal``, by key relative to ``out/``, e.g. ``.batchmagic/result.json``)."""

    files: list[Path] = field(default_factory=list)
    internal: dict[str, bytes] = field(default_factory=dict)
    bytes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(key, why) of every output that was not written."""
    stopped: bool = False
    """The download was stopped (Ctrl-C) before every file arrived."""


RELEASE_AFTER_BYTES = 64 * 1024 * 1024


def download_outputs(
    clients: AwsClients, location: RunLocation, output_dir: Path, *,
    progress: ProgressCallback | None = None, stop: threading.Event | None = None,
) -> DownloadResult:
    """Download ``out/`` into ``output_dir``; batchmagic's own files are returned in memory.

    ``out/KEY`` -> ``output_dir/KEY``, ``out/.outputs/KEY`` -> ``output_dir/KEY`` (wins over a
    plain key of the same name), ``out/.batchmagic/NAME`` -> ``result.internal[".batchmagic/NAME"]``
    (never written to disk). Every file is written to a hidden temp file next to its
    destination and renamed into place, so a reader never sees half a file.

    Per file: a key that cannot be written (outside ``output_dir``, through a symlink that
    leads out of it, a name too long, a file where a directory must be, a failed GetObject) is
    skipped and listed in ``result.skipped`` with the reason; every other file still arrives.
    Only batchmagic's own files are essential (their failure raises StagingError). When
    ``stop`` is set, transfers are cancelled at once, no temp file is left, and
    ``result.stopped`` is True (``files`` lists what had arrived). ``progress`` gets a
    :class:`TransferProgress` as bytes come in, as :func:`staging.upload`'s does.
    """
    objects = list_objects(clients, location.bucket, location.out_prefix)
    root = Path(os.path.realpath(output_dir))
    internal, targets, skipped = map_outputs(objects, location.out_prefix, root)
    wanted = [*internal.values(), *targets.values()]
    counter = ProgressSubscriber("download", sum(obj.size for obj in wanted), len(wanted),
                                 progress)
    result = DownloadResult(skipped=skipped)
    pending: list[tuple[str, Any]] = []
    buffers: dict[str, io.BytesIO | Path] = {}
    renames: list[tuple[str, Path, Path]] = []
    # A big internal file (pickled --pull values) goes through a temp file, read back once in
    # the caller's thread: no transfer thread ever holds it.
    scratch = tempfile.TemporaryDirectory(prefix="batchmagic-",
                                          dir=root if root.is_dir() else None)
    try:
        with handing_out(pending):
            for name, obj in internal.items():
                buffers[name] = (io.BytesIO() if smallobjects.is_small(obj.size)
                                 else Path(scratch.name) / uuid.uuid4().hex)
                pending.append((obj.key, _fetch(clients, location.bucket, obj, buffers[name],
                                                counter)))
            # Per file only what must be: a directory is made once, and temp names share one
            # random token (2,000 small files spent a fifth of their time on mkdir and urandom).
            made: set[Path] = set()
            token = uuid.uuid4().hex[:12]
            for number, (dest, obj) in enumerate(targets.items()):
                try:
                    if dest.parent not in made:
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        made.add(dest.parent)
                except OSError as exc:
                    result.skipped.append((obj.key, f"cannot create {dest.parent}: "
                                                     f"{exc.strerror or exc}"))
                    continue
                temp = dest.parent / f".{dest.name[:200]}.{token}{number}.part"
                renames.append((obj.key, temp, dest))
                pending.append((obj.key, _fetch(clients, location.bucket, obj, temp, counter)))
            failures = _failures(pending, stop)
        failed = dict(failures)
        result.stopped = stop is not None and stop.is_set()
        for key, temp, dest in renames:
            if key in failed or result.stopped:
                if key in failed and not result.stopped:
                    result.skipped.append((key, _reason(failed[key])))
                continue
            try:
                os.replace(temp, dest)
            except OSError as exc:
                result.skipped.append((key, f"cannot write {dest}: {exc.strerror or exc}"))
                continue
            result.files.append(dest)
        internal_keys = {obj.key for obj in internal.values()}
        essential = [(key, error) for key, error in failures if key in internal_keys]
        if essential and not result.stopped:
            raise _failed("download", essential, location.out_uri,
                          "GetObject") from essential[0][1]
        if not result.stopped:
            result.internal = {name: buf.getvalue() if isinstance(buf, io.BytesIO)
                               else buf.read_bytes() for name, buf in buffers.items()}
    finally:
        for _, temp, _ in renames:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
        scratch.cleanup()
    result.files.sort()
    result.bytes = sum(obj.size for obj in wanted)
    if result.bytes >= RELEASE_AFTER_BYTES:
        release_freed_memory()  # the transfer threads' freed chunks: none kept afterwards
    return result


def _fetch(clients: AwsClients, bucket: str, obj: S3Object, sink: Path | io.BytesIO,
           counter: ProgressSubscriber) -> Any:
    """One object into a temp file or a buffer: in one GetObject when small, in ranged GETs
    written in place when big (``bigobjects``)."""
    if smallobjects.is_small(obj.size):
        return smallobjects.get_object(clients.s3, bucket, obj, sink, counter)
    assert isinstance(sink, Path), "a big object goes to a file"
    return bigobjects.download(clients.s3, bucket, obj, str(sink), counter)


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    if isinstance(error, AWS_EXCEPTIONS):
        return describe(error, "GetObject")
    return f"{type(error).__name__}: {error}"

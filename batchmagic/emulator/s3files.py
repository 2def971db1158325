"""moto's S3 objects on disk, streamed: the emulator never holds a whole big object in memory.

moto keeps each object's bytes in a ``tempfile.SpooledTemporaryFile`` (``FakeKey._value_buffer``):
in memory up to ``MOTO_S3_DEFAULT_KEY_BUFFER_SIZE`` (about 5 MiB), in an unnamed temporary file
beyond. But three paths read whole objects into memory anyway, and in the emulator's long-lived
process the freed gigabytes stay resident (the allocator keeps them):

- GetObject returns ``key.value``: the whole object as one ``bytes``, sliced for a Range request
  (s3transfer downloads a big object as many ranged GETs: each read the whole object);
- CompleteMultipartUpload joins the parts in a ``bytearray``, copies it to ``bytes``, and its
  checksum builder keeps a third copy to compute a full-object checksum;
- the checksum of that copy is computed over it in one piece.

``install()`` (idempotent, done when an emulator starts) changes exactly these paths:

- during ``S3Response.get_object``, a key whose buffer is on disk answers ``value`` with a
  ``KeyBody``: its length and slices are known without reading, and iterating it (what the WSGI
  server does) reads 1 MiB at a time from a duplicate of the key's file descriptor, so deleting
  or overwriting the key meanwhile does not cut the response short;
- ``FakeMultipart.complete`` copies the parts, 1 MiB at a time, into a new spooled buffer and
  computes the checksum (the same algorithm and fallbacks as moto's ``compute_checksum``)
  incrementally; ``FakeKey``'s value setter adopts that buffer instead of copying bytes.

Everything else (validation, ETags, metadata, errors) is moto's own code.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

CHUNK = 1024 * 1024
_serving_get = contextvars.ContextVar("batchmagic_s3_serving_get", default=False)
_installed = False
_install_lock = threading.Lock()


class KeyBody:
    """Bytes ``[start, stop)`` of an on-disk object, read in chunks only when iterated."""

    def __init__(self, fd: int, start: int, stop: int) -> None:
        self._fd = fd
        self.start, self.stop = start, stop

    @classmethod
    def of(cls, buffer: Any, size: int) -> KeyBody:
        return cls(os.dup(buffer.fileno()), 0, size)

    def __len__(self) -> int:
        return self.stop - self.start

    def __bool__(self) -> bool:
        return self.stop > self.start

    def __getitem__(self, index: slice) -> KeyBody:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("KeyBody supports contiguous slices only")
        first, last, _ = index.indices(len(self))
        return KeyBody(os.dup(self._fd), self.start + first, self.start + max(first, last))

    def __iter__(self) -> Iterator[bytes]:
        position = self.start
        try:
            while position < self.stop:
                data = os.pread(self._fd, min(CHUNK, self.stop - position), position)
                if not data:
                    break
                position += len(data)
                yield data
        finally:
            self.close()

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        self.close()


class StreamingChecksum:
    """moto's ``compute_checksum`` (same algorithms, same fallbacks), fed in pieces."""

    def __init__(self, algorithm: str) -> None:
        from moto.core.compat import HAS_CRT

        self.algorithm = algorithm
        self._hash: Any = None
        self._crc = 0
        self._width = 4
        self._update: Any = binascii.crc32
        if algorithm == "SHA1":
            self._hash = hashlib.sha1(usedforsecurity=False)
        elif algorithm == "CRC32C":
            try:
                import crc32c  # type: ignore[import-not-found]

                self._update = lambda data, crc: crc32c.crc32c(data, value=crc)
            except ImportError:  # moto falls back to CRC32 as well
                pass
        elif algorithm == "CRC64NVME" and HAS_CRT:
            from awscrt import checksums  # type: ignore[import-not-found]

            self._update, self._width = checksums.crc64nvme, 8
        elif algorithm not in ("CRC32", "CRC64NVME"):
            self._hash = hashlib.sha256(usedforsecurity=False)

    def update(self, data: bytes) -> None:
        if self._hash is not None:
            self._hash.update(data)
        else:
            self._crc = self._update(data, self._crc)

    def digest(self) -> bytes:
        if self._hash is not None:
            return bytes(self._hash.digest())
        return int(self._crc).to_bytes(self._width, "big")

    def base64(self) -> str:
        return base64.b64encode(self.digest()).decode()


class SpooledValue:
    """An object's bytes assembled in a spooled temporary file, handed to ``FakeKey``."""

    def __init__(self, max_size: int) -> None:
        # Handed over to the FakeKey that stores the object, which closes it.
        self.buffer = tempfile.SpooledTemporaryFile(max_size)  # noqa: SIM115
        self.size = 0

    def write(self, data: bytes) -> None:
        self.buffer.write(data)
        self.size += len(data)

    def __len__(self) -> int:
        return self.size


def _chunks(key: Any) -> Iterator[bytes]:
    """A key's bytes, 1 MiB at a time (under its lock: the buffer's position is shared)."""
    position = 0
    while True:
        with key.lock:
            key._value_buffer.seek(position)
            data = key._value_buffer.read(CHUNK)
        if not data:
            return
        position += len(data)
        yield data


def _complete(self: Any, body: Iterator[tuple[int, str]]) -> tuple[Any, str, Any]:
    """``FakeMultipart.complete`` without the object in memory: same checks, same results."""
    from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML
    from moto.s3.models import MultipartChecksumBuilder
    from moto.s3.utils import compute_checksum
    from moto.settings import S3_UPLOAD_PART_MIN_SIZE, get_s3_default_key_buffer_size

    # moto's defaults for the algorithm and type (CRC64NVME, FULL_OBJECT for it, else COMPOSITE)
    kind = MultipartChecksumBuilder(self.metadata.get("x-amz-checksum-algorithm"),
                                    self.metadata.get("x-amz-checksum-type"))
    whole = StreamingChecksum(kind.checksum_algorithm)
    composite = bytearray()
    value = SpooledValue(get_s3_default_key_buffer_size())
    md5s = bytearray()
    last = None
    count = 0
    for number, etag in body:
        part = self.parts.get(number)
        if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
            raise InvalidPart()
        if last is not None and last.contentsize < S3_UPLOAD_PART_MIN_SIZE:
            raise EntityTooSmall()
        md5s.extend(bytes.fromhex(part.etag.replace('"', "")))
        part_sum = StreamingChecksum(kind.checksum_algorithm)
        for data in _chunks(part):
            value.write(data)
            if kind.checksum_type == "COMPOSITE":
                part_sum.update(data)
            else:
                whole.update(data)
        if kind.checksum_type == "COMPOSITE":
            composite.extend(part_sum.digest())
        last = part
        count += 1
    if count == 0:
        raise MalformedXML
    full_etag = hashlib.md5(bytes(md5s), usedforsecurity=False)
    if kind.checksum_type == "COMPOSITE":
        checksum = (kind.checksum_type,
                    compute_checksum(bytes(composite), kind.checksum_algorithm).decode(), count)
    else:
        checksum = (kind.checksum_type, whole.base64(), 1)
    return value, f"{full_etag.hexdigest()}-{count}", checksum


def install() -> None:
    """Patch moto's S3 models and responses as described above (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from moto.s3.models import FakeKey, FakeMultipart
        from moto.s3.responses import S3Response

        value_property: Any = FakeKey.__dict__["value"]
        read_value, write_value = value_property.fget, value_property.fset

        def get_value(key: Any) -> Any:
            buffer = key._value_buffer
            if _serving_get.get() and getattr(buffer, "_rolled", False):
                with key.lock:
                    return KeyBody.of(buffer, key.contentsize)
            return read_value(key)

        def set_value(key: Any, new_value: Any) -> None:
            if isinstance(new_value, SpooledValue):
                key._value_buffer.close()
                key._value_buffer = new_value.buffer
                key.contentsize = new_value.size
                return
            write_value(key, new_value)

        original_get_object = S3Response.get_object

        def get_object(response: Any) -> Any:
            token = _serving_get.set(True)
            try:
                return original_get_object(response)
            finally:
                _serving_get.reset(token)

        setattr(FakeKey, "value", property(get_value, set_value))  # noqa: B010
        setattr(FakeMultipart, "complete", _complete)  # noqa: B010
        setattr(S3Response, "get_object", get_object)  # noqa: B010
        _installed = True

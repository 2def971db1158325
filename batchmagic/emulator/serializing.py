"""moto's response serializer, without dateutil for the timestamps moto itself wrote.

moto keeps an S3 object's ``LastModified`` as an ISO 8601 string and its serializer turns
every timestamp back into a ``datetime`` with botocore's ``parse_to_aware_datetime``, which
reads strings with ``dateutil`` (``moto/core/serialize.py``, ``_convert_timestamp_to_str``):
about 40 % of the emulator's CPU for a 1,000-key ListObjectsV2 page. ``install()`` gives the
serializer a parser that reads the plain spellings (``2026-11-28T05:00:00.000Z``, or with an
explicit ``+00:00``) with the standard library and hands anything else to botocore's; the
``datetime``, and so the XML, is the same.

The kernel side has its own parser for responses (``aws/timestamps.py``); the emulator keeps
this copy on purpose (it may share nothing with the client code it checks), and
tests/emulator/test_serializing.py checks that both agree with botocore.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any

_ZERO = datetime.timedelta(0)
_installed = False
_lock = threading.Lock()


def plain_utc(value: Any) -> datetime.datetime | None:
    """``value`` as an aware UTC datetime when it is a plain ISO 8601 UTC string, else None."""
    if not isinstance(value, str) or len(value) <= 10 or value[4] != "-" or value[10] != "T":
        return None
    iso = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        parsed = datetime.datetime.fromisoformat(iso)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() != _ZERO:
        return None
    return parsed


def install() -> None:
    """Make moto's serializer parse its own timestamps with :func:`plain_utc` (once)."""
    global _installed
    with _lock:
        if _installed:
            return
        import moto.core.serialize as serialize
        from botocore.utils import tzutc

        original = serialize.parse_to_aware_datetime  # type: ignore[attr-defined]
        utc = tzutc()

        def parse_to_aware_datetime(value: Any) -> datetime.datetime:
            parsed = plain_utc(value)
            if parsed is not None:
                return parsed.replace(tzinfo=utc)
            result: datetime.datetime = original(value)
            return result

        setattr(serialize, "parse_to_aware_datetime", parse_to_aware_datetime)  # noqa: B010
        _installed = True

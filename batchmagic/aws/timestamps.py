"""Timestamps in AWS responses parsed without dateutil where the format is plain.

botocore parses every timestamp string of a response with ``dateutil.parser.parse``
(``botocore.utils.parse_timestamp``): about a fifth of the client's CPU for a small
``GetObject`` (its ``Last-Modified`` header) and most of a ``ListObjectsV2`` page's parsing
(1,000 ``LastModified`` values). The AWS CLI does not parse them at all (its
``cli_timestamp_format`` ``wire`` default: ``awscli/customizations/scalarparse.py``).

The two formats AWS sends, an RFC 7231 date in headers (``Sat, 28 Nov 2026 05:00:00 GMT``) and
ISO 8601 in XML and JSON bodies (``2026-11-28T05:00:00.000Z``), are read here with the standard
library; the result is the same ``datetime`` botocore returns (UTC as dateutil's ``tzutc()``).
Anything else — epoch numbers, other offsets, odd spellings — goes to botocore's own parser.
"""

from __future__ import annotations

import datetime
import email.utils
from typing import Any

from botocore.utils import parse_timestamp as botocore_parse_timestamp
from botocore.utils import tzutc  # dateutil's, as botocore's own results carry

_UTC = tzutc()
_ZERO = datetime.timedelta(0)


def parse_timestamp(value: Any) -> datetime.datetime:
    if isinstance(value, str):
        parsed = _plain(value)
        if parsed is not None:
            return parsed
    result: datetime.datetime = botocore_parse_timestamp(value)
    return result


def _plain(value: str) -> datetime.datetime | None:
    try:
        if value.endswith(" GMT"):
            parsed = email.utils.parsedate_to_datetime(value)
        elif len(value) > 10 and value[4] == "-" and value[10] == "T":
            # "Z" spelled as an offset: Python 3.10's fromisoformat knows only the latter.
            iso = value[:-1] + "+00:00" if value.endswith("Z") else value
            parsed = datetime.datetime.fromisoformat(iso)
        else:
            return None
    except (ValueError, TypeError, IndexError):
        return None
    if parsed.tzinfo is None or parsed.utcoffset() != _ZERO:
        return None
    return parsed.replace(tzinfo=_UTC)


def use_fast_timestamps(session: Any) -> None:
    """Make the clients of this boto3 session parse timestamps with :func:`parse_timestamp`."""
    factory = session._session.get_component("response_parser_factory")
    factory.set_parser_defaults(timestamp_parser=parse_timestamp)

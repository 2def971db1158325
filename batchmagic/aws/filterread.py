"""Several log streams of a job read in one call: FilterLogEvents over all of them.

GetLogEvents reads one stream and needs two calls to know it has read all of it (a page, then
the same ``nextForwardToken`` back to confirm the end). FilterLogEvents reads up to 100 named
streams of a group at once, from a ``startTime``, in timestamp order, and says it has finished
by leaving out ``nextToken`` ("If the results don't include a nextToken, then pagination is
finished": API reference, FilterLogEvents). AWS refuses the call with ResourceNotFoundException
when one of the named streams does not exist: only streams known to exist are named, and any
refusal sends the caller back to GetLogEvents. Two uses:

- when a live session opens, the streams DescribeJobs reported are read from their heads in one
  call, which also anchors the session's events (:meth:`StreamMerge.reached_end`);
- once the job has ended, every stream is read from the last line delivered to its end, so that
  nothing a live session did not push yet is lost.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from batchmagic.aws.errors import ACCESS_DENIED_CODES, UNSUPPORTED_CODES, aws_errors
from batchmagic.aws.logs import LogLine
from batchmagic.aws.merge import StreamMerge
from batchmagic.errors import AwsError

log = logging.getLogger(__name__)

MAX_STREAMS = 100  # FilterLogEvents logStreamNames: at most 100 (botocore InputLogStreamNames)

# Targets where FilterLogEvents is refused for good (no logs:FilterLogEvents permission): their
# later jobs are read with GetLogEvents straight away.
_refused: set[object] = set()


def _read(logs: Any, log_group: str, streams: list[str], merge: StreamMerge, source: object,
          start: int | None, target: object) -> float | None:
    """Every page from ``start`` into ``merge`` as ``source``; when the first page was asked
    for (monotonic clock) if the read finished, None if it was refused."""
    if (target is not None and target in _refused) or not streams or len(streams) > MAX_STREAMS:
        return None
    token: str | None = None
    first_asked: float | None = None
    try:
        while True:
            kwargs: dict[str, Any] = {"logGroupName": log_group, "logStreamNames": streams}
            if start is not None:
                kwargs["startTime"] = start
            if token:
                kwargs["nextToken"] = token
            asked = time.monotonic()
            first_asked = asked if first_asked is None else first_asked
            with aws_errors(f"FilterLogEvents {log_group}"):
                page = logs.filter_log_events(**kwargs)
            found: dict[str, list[LogLine]] = {}
            for event in page.get("events") or []:
                found.setdefault(str(event.get("logStreamName", "")), []).append(
                    LogLine(int(event.get("timestamp", 0)), str(event.get("message", ""))))
            for stream, lines in found.items():
                if stream in streams:
                    merge.add(source, stream, lines)
            token = page.get("nextToken")
            if not token:
                return first_asked
    except AwsError as error:  # GetLogEvents takes over; the merge drops what was delivered
        log.debug("reading %d streams at once: %s", len(streams), error)
        if target is not None and error.code in ACCESS_DENIED_CODES | UNSUPPORTED_CODES:
            _refused.add(target)
        return None


def read_from_heads_at_once(logs: Any, log_group: str, streams: list[str],
                            merge: StreamMerge, not_before_ms: int | None = None, *,
                            target: object = None) -> bool:
    """Read ``streams`` (which exist) from their heads into ``merge``, and mark their ends
    reached as of the first request. ``not_before_ms``: no event is stamped earlier (fewer
    empty pages). True if they were read."""
    source = object()
    for stream in streams:
        merge.start_source(source, stream, from_head=True)
    try:
        asked = _read(logs, log_group, streams, merge, source, not_before_ms, target)
        if asked is None:
            return False
        for stream in streams:
            merge.reached_end(stream, asked)
        return True
    finally:
        merge.forget(source)


def read_to_end_at_once(logs: Any, log_group: str, streams: list[str], merge: StreamMerge,
                        not_before_ms: int | None, *, target: object = None) -> bool:
    """Read ``streams`` to their ends into ``merge``, from the last event delivered on any of
    them (``not_before_ms`` for streams with nothing delivered: no event is stamped earlier).
    False when that cannot be done (a stream that does not exist, no permission, lines
    delivered out of timestamp order): the caller reads each stream instead. ``target``: where
    the calls go (a refusal for lack of permission is remembered for it)."""
    stamps = [merge.last_timestamp(stream) for stream in streams]
    known = [stamp for stamp in stamps if stamp is not None]
    if len(known) < len(stamps):
        if not_before_ms is None:
            return False
        known.append(not_before_ms)
    if not known:
        return False
    start = min(known)
    source = object()
    try:
        if not all(merge.start_source_at(source, s, start) for s in streams):
            return False
        return _read(logs, log_group, streams, merge, source, start, target) is not None
    finally:
        merge.forget(source)

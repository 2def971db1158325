"""The end of a job's log streams in one call: FilterLogEvents over all of them.

Once the job has ended, every stream is read from the last line delivered to its end, so that
nothing a live session did not push yet is lost. GetLogEvents needs two calls per stream for
that (a page, then the same ``nextForwardToken`` back to confirm the end); FilterLogEvents reads
up to 100 named streams of a group at once, from a ``startTime``, in timestamp order (API
reference, FilterLogEvents), and says it has finished by leaving out ``nextToken``.
"""

from __future__ import annotations

import logging
from typing import Any

from batchmagic.aws.errors import ACCESS_DENIED_CODES, UNSUPPORTED_CODES, aws_errors
from batchmagic.aws.logs import LogLine
from batchmagic.aws.merge import StreamMerge
from batchmagic.errors import AwsError

log = logging.getLogger(__name__)

# Targets where FilterLogEvents is refused for good (no logs:FilterLogEvents permission): their
# later jobs are read with GetLogEvents straight away.
_refused: set[object] = set()


def read_to_end_at_once(logs: Any, log_group: str, streams: list[str], merge: StreamMerge,
                        not_before_ms: int | None, *, target: object = None) -> bool:
    """Read ``streams`` to their ends into ``merge``, from the last event delivered on any of
    them (``not_before_ms`` for streams with nothing delivered: no event is stamped earlier).
    FilterLogEvents until no ``nextToken`` comes back ("pagination is finished": API
    reference), over ``logStreamNames`` (at most 100; AWS refuses the call with
    ResourceNotFoundException when one of them does not exist, so a container that never
    started sends the reads back to GetLogEvents). True if every stream was read."""
    stamps = [merge.last_timestamp(stream) for stream in streams]
    if None in stamps:
        stamps.append(not_before_ms)
    if not streams or len(streams) > 100 or None in stamps[len(streams):]:
        return False
    start = min(stamp for stamp in stamps if stamp is not None)
    source = object()
    try:
        if not all(merge.start_source_at(source, s, start) for s in streams):
            return False
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"logGroupName": log_group,
                                      "logStreamNames": streams, "startTime": start}
            if token:
                kwargs["nextToken"] = token
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
                return True
    except AwsError as error:  # the reads take over; the merge drops what was delivered
        log.debug("reading the job's streams at once: %s", error)
        if target is not None and error.code in ACCESS_DENIED_CODES | UNSUPPORTED_CODES:
            _refused.add(target)
        return False
    finally:
        merge.forget(source)

"""Container output into CloudWatch Logs: written straight into moto's in-process logs backend.

The emulator serves moto in this same process, so a line printed by a container becomes a log
event without an HTTP round trip; clients read it back with GetLogEvents as on AWS.
"""

from __future__ import annotations

import threading
import time
from typing import Any

ACCOUNT_ID = "123456789012"  # moto's default account
DEFAULT_LOG_GROUP = "/aws/batch/job"  # AWS Batch's default; settings.LOG_GROUP is the same


class LogSink:
    """Creates log groups/streams and appends events, for one account and region."""

    _lock = threading.Lock()  # moto's log streams are not thread-safe for writers

    def __init__(self, region: str, account_id: str = ACCOUNT_ID) -> None:
        from moto.logs.models import logs_backends

        self._backend: Any = logs_backends[account_id][region]

    def open_stream(self, group: str, stream: str) -> None:
        """Create the group (if missing) and the stream (if missing)."""
        with self._lock:
            if group not in self._backend.groups:
                self._backend.create_log_group(group, tags={})
            if stream not in self._backend.groups[group].streams:
                self._backend.create_log_stream(group, stream)

    def write(self, group: str, stream: str, message: str,
              timestamp_ms: int | None = None) -> None:
        """Append one event (one line of output) to the stream.

        Stamped under the lock and never earlier than the stream's previous event: moto keeps
        a stream sorted by timestamp and its forward tokens are positions in that order, so an
        event stamped before one already stored would shift what a reader has read (as the
        awslogs driver, which stamps lines as it reads them, never does).
        """
        with self._lock:
            now = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
            events = self._backend.groups[group].streams[stream].events
            stamp = max(now, events[-1].timestamp) if events else now
            self._backend.put_log_events(group, stream, [{"timestamp": stamp,
                                                           "message": message}])

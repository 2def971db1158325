"""Live log lines through CloudWatch Logs ``StartLiveTail``: one streaming call per job instead of
polling ``GetLogEvents`` every second (a line within a second would cost a request per second
per stream). The session is opened as soon as the job's first container's stream is known, on
the streams of all its containers (the others are derived from the first:
:mod:`batchmagic.aws.streamnames`); reads make the result complete:

- a session only sees events ingested after it started, so once it is open every stream is read
  to its end (a catch-up: :mod:`batchmagic.aws.filterread` for those known to exist,
  ``GetLogEvents`` with ``nextForwardToken`` for the others). A stream that does not exist yet
  (``ResourceNotFoundException``: its container has not started) has nothing to miss: one read
  each, and none while the job runs. A read that fails is tried again at the next update; when
  the job has ended, every stream is read to its end;
- a stream reported under another name than the one derived gets a new session on all known
  streams, started *before* the old one is closed, and caught up the same way; a session that
  is throttled or breaks is started once more before the job falls back to polling.

Lines thus arrive twice or in a different order from different sources; :class:`StreamMerge`
delivers each line exactly once, in stream order. A session is opened by its own thread, so a
slow or refused StartLiveTail never holds up the status polls that feed it. Host prefix,
partition and timeouts: ``AwsClients.logs_streaming`` and :func:`log_group_arn`.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from typing import Any

from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError

from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.aws.errors import ACCESS_DENIED_CODES, UNSUPPORTED_CODES, aws_errors
from batchmagic.aws.filterread import read_from_heads_at_once, read_to_end_at_once
from batchmagic.aws.logs import LogLine
from batchmagic.aws.merge import OnStreamLines, StreamMerge
from batchmagic.errors import AwsError, BatchMagicError

log = logging.getLogger(__name__)


# Targets where StartLiveTail is refused for good (no permission, not supported): later jobs of
# this kernel poll straight away. A session quota error only affects the job that hit it.
_REFUSED_CODES = ACCESS_DENIED_CODES | UNSUPPORTED_CODES
_unavailable: set[AwsTarget] = set()

RESTART_AFTER = 1.0  # seconds before a session that failed is started once more
NO_ANSWER = (BotoConnectionError, HTTPClientError)  # no HTTP answer came (botocore's classes)

SLOW_OPEN = 2.0
"""While a session has not opened after this many seconds (a proxy that holds streaming calls:
the client gives up only after its 10 s read timeout), the streams are read every as often."""


class LiveSession:
    """One StartLiveTail session on some streams of a log group, opened and read by its own
    thread: whoever starts it (the status poll) never waits for AWS's answer."""

    def __init__(self, client: Any, group_arn: str, streams: list[str], merge: StreamMerge,
                 on_failure: Callable[[LiveSession, BaseException], None],
                 on_open: Callable[[], None] | None = None) -> None:
        self.streams = streams
        self._merge = merge
        self._on_failure = on_failure
        self._on_open = on_open
        self._closed = threading.Event()
        self.opened = threading.Event()
        """Set once AWS answered: the session sees every event ingested from then on."""
        self._events: Any = None
        self._events_lock = threading.Lock()
        for stream in streams:
            merge.start_source(self, stream, from_head=False)
        self._thread = threading.Thread(target=self._run, args=(client, group_arn),
                                        name="batchmagic-live-tail", daemon=True)
        self._thread.start()

    def _run(self, client: Any, group_arn: str) -> None:
        try:
            with aws_errors("StartLiveTail"):
                response = client.start_live_tail(logGroupIdentifiers=[group_arn],
                                                  logStreamNames=self.streams)
            with self._events_lock:
                self._events = response["responseStream"]
            if self._closed.is_set():
                self._release()
                return
            self._merge.started(self)
            self.opened.set()
            if self._on_open is not None:
                self._on_open()
            with aws_errors("StartLiveTail"):
                for event in self._events:
                    if self._closed.is_set():
                        return
                    update = event.get("sessionUpdate") or {}
                    if (update.get("sessionMetadata") or {}).get("sampled"):
                        # Above 500 events/s AWS drops events from the session: it no longer
                        # says what comes next, so reads take over.
                        raise RuntimeError("the live tail session is sampling events")
                    for result in update.get("sessionResults") or []:
                        line = LogLine(int(result.get("timestamp", 0)),
                                       str(result.get("message", "")))
                        self._merge.add(self, str(result.get("logStreamName", "")), [line])
        except Exception as error:  # refused or broken: the watcher falls back to polling
            if not self._closed.is_set():
                self._on_failure(self, error)

    def close(self) -> None:
        """Stop now; the connection is released in the background, because closing an event
        stream blocks until its next message (a heartbeat comes every second)."""
        self._closed.set()
        self._merge.forget(self)
        threading.Thread(target=self._release, daemon=True).start()

    def _release(self) -> None:
        with self._events_lock:
            events, self._events = self._events, None
        if events is None:
            return  # not open yet: the opening thread releases it when the answer comes
        try:
            events.close()
        except Exception as error:  # closing a stream that already ended is not a problem
            log.debug("closing a live tail session: %r", error)


class _Reader:
    """A stream read forward with ``nextForwardToken``: a source that never repeats itself."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.lock = threading.Lock()


class LiveTails:
    """Follows the log streams of one job with live tail sessions (see the module doc)."""

    def __init__(self, clients: AwsClients, log_group: str, on_lines: OnStreamLines,
                 on_failure: Callable[[BaseException], None] | None = None,
                 *, client: Any = None) -> None:
        self._clients = clients
        self._on_failure = on_failure
        self._log_group = log_group
        self._merge = StreamMerge(on_lines)
        self._session: LiveSession | None = None
        self._streams: list[str] = []
        self._existing: set[str] = set()
        self.not_before_ms: int | None = None
        """No event of the followed streams is stamped earlier (epoch ms), when known."""
        self._failed: BaseException | None = None
        self._lock = threading.Lock()
        self._readers: dict[str, _Reader] = {}
        self._reader_lock = threading.Lock()
        self._catching_up = threading.Event()
        self._restarted = False
        self._client = client if client is not None else clients.logs_streaming
        if clients.target in _unavailable:
            self._failed = RuntimeError("live tails are not available on this target")

    @property
    def failed(self) -> BaseException | None:
        """Why live tailing stopped working (the caller then polls instead), or None: the error
        as botocore raised it (e.g. EndpointConnectionError)."""
        return self._failed

    @property
    def merge(self) -> StreamMerge:
        return self._merge

    def fail(self, error: BaseException) -> None:
        """Stop using live tails for this job (polling takes over)."""
        first = self._failed is None
        if isinstance(error, BatchMagicError) and error.code in _REFUSED_CODES:
            _unavailable.add(self._clients.target)
        original = error.__cause__ or error  # what botocore raised, for the record
        if first:
            log.info("live tail unavailable, polling instead: %s", error)
            self._failed = original
        self.close()
        if first and self._on_failure is not None:
            self._on_failure(original)

    def follow(self, streams: list[str], existing: Collection[str] = ()) -> None:
        """Make sure every stream in ``streams`` is followed by a session (a new one when
        streams were added, which catches every stream up once it is open), and, once the
        session is open, catch up the streams whose session events are not anchored yet.
        ``existing``: those known to exist (DescribeJobs reported them): read together."""
        with self._lock:
            self._existing.update(existing)
            if self._failed is not None:
                return
            new = [s for s in streams if s not in self._streams]
            if new:
                self._streams.extend(new)
                self._open_session()
            session = self._session
        if session is None or not session.opened.is_set():
            return  # the session catches every stream up once it is open
        behind = [s for s in self._streams if not self._merge.anchored(s)]
        if behind and not self._catching_up.is_set():
            # Off the status poll's thread: a slow read must not delay the job's status.
            self._catching_up.set()
            threading.Thread(target=self._catch_up_in_background, args=(behind,),
                             name="batchmagic-catch-up", daemon=True).start()

    def _open_session(self) -> None:
        """A new session on every stream (called with the lock held); the old one keeps
        delivering until the new one is open."""
        old = self._session
        session = self._session = LiveSession(self._client, self._arn(), list(self._streams),
                                              self._merge, on_failure=self._session_failed,
                                              on_open=lambda: self._opened(old))
        self._check_opened_later(session)

    def _check_opened_later(self, session: LiveSession) -> None:
        timer = threading.Timer(SLOW_OPEN, self._opening_slowly, args=(session,))
        timer.daemon = True
        timer.start()

    def _opening_slowly(self, session: LiveSession) -> None:
        """Lines must not wait for a session that does not open: read the streams meanwhile."""
        with self._lock:
            waiting = (self._failed is None and self._session is session
                       and not session.opened.is_set())
        if not waiting:
            return
        if not self._catching_up.is_set():
            self._catching_up.set()
            self._catch_up_in_background(list(self._streams))
        self._check_opened_later(session)

    def _session_failed(self, session: LiveSession, error: BaseException) -> None:
        """A session was throttled (or over the session quota), met a server error, or broke
        after it opened: start one more after a pause. Refused for good, or no answer at all
        (a closed port, a proxy that drops streaming calls), or a second failure: poll."""
        cause = error.__cause__ or error
        worth = isinstance(error, AwsError) and error.code not in _REFUSED_CODES and (
            session.opened.is_set() or error.throttled
            or (error.transient and not isinstance(cause, NO_ANSWER)))
        with self._lock:
            restart = (worth and not self._restarted and self._failed is None
                       and self._session is session)
            if restart:
                self._restarted = True
        if not restart:
            if self._session is session or self._session is None:
                self.fail(error)
            return
        log.info("live tail session failed, starting another: %s", error)
        session.close()  # its events wait for no anchor any more: the next session's reads
        timer = threading.Timer(RESTART_AFTER, self._restart, args=(session,))
        timer.daemon = True
        timer.start()

    def _restart(self, failed: LiveSession) -> None:
        with self._lock:
            if self._failed is not None or self._session is not failed:
                return
            self._open_session()

    def _catch_up_in_background(self, streams: list[str]) -> None:
        try:
            for stream in streams:
                self.catch_up(stream)
        except AwsError as error:
            self.fail(error)
        finally:
            self._catching_up.clear()

    def _opened(self, old: LiveSession | None) -> None:
        if old is not None:
            old.close()
        self._catching_up.set()
        try:
            streams = list(self._streams)
            existing = [s for s in streams if s in self._existing]
            if existing and read_from_heads_at_once(
                    self._clients.logs, self._log_group, existing, self._merge,
                    self.not_before_ms, target=self._clients.target):
                streams = [s for s in streams if s not in existing]
            for stream in streams:
                if self._session is None:
                    return  # closed (the job's streams were read to their ends meanwhile)
                self.catch_up(stream)
        finally:
            self._catching_up.clear()

    def catch_up(self, stream: str) -> None:
        """GetLogEvents with the stream's ``nextForwardToken`` until its end (the same token
        comes back), which also anchors the session's events (see :class:`StreamMerge`)."""
        with self._reader_lock:
            reader = self._readers.get(stream)
            if reader is None:
                reader = self._readers[stream] = _Reader()
                self._merge.start_source(reader, stream, from_head=True)
        with reader.lock:
            while True:
                kwargs: dict[str, Any] = {"logGroupName": self._log_group,
                                          "logStreamName": stream, "startFromHead": True}
                if reader.token:
                    kwargs["nextToken"] = reader.token
                requested_at = time.monotonic()
                try:
                    with aws_errors(f"GetLogEvents {self._log_group}:{stream}"):
                        page = self._clients.logs.get_log_events(**kwargs)
                except AwsError as error:
                    if error.code == "ResourceNotFoundException":
                        # Not created yet: every event it will have comes after this read,
                        # so a session started before it misses none of them.
                        self._merge.reached_end(stream, requested_at)
                        return
                    raise
                events = [LogLine(int(e.get("timestamp", 0)), str(e.get("message", "")))
                          for e in page.get("events") or []]
                self._merge.add(reader, stream, events)
                token = page.get("nextForwardToken")
                if token == reader.token and not events:
                    self._merge.reached_end(stream, requested_at)
                    return
                reader.token = token

    def finish(self) -> None:
        """Read every stream to its end, then close the session: one FilterLogEvents on all
        the streams from the last line delivered (:attr:`not_before_ms` for streams with
        nothing delivered yet), or, when that cannot be done, each with GetLogEvents."""
        try:
            if not read_to_end_at_once(self._clients.logs, self._log_group,
                                       list(self._streams), self._merge, self.not_before_ms,
                                       target=self._clients.target):
                for stream in list(self._streams):
                    self.catch_up(stream)
        finally:
            self.close()

    def close(self) -> None:
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    def _arn(self) -> str:
        return log_group_arn(self._clients.partition, self._clients.target.region,
                             self._clients.account_id, self._log_group)


def log_group_arn(partition: str, region: str, account: str, group: str) -> str:
    """StartLiveTail names log groups by ARN, in the caller's partition (``aws-cn`` in China,
    ``aws-us-gov`` in GovCloud): the partition and account come from GetCallerIdentity."""
    return f"arn:{partition}:logs:{region}:{account}:log-group:{group}"

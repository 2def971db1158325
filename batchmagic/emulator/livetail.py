"""CloudWatch Logs ``StartLiveTail``: a streaming response of AWS event-stream messages.

moto answers StartLiveTail with one update of the events already stored; this module serves it
as AWS does: an (empty) ``initial-response`` event, a ``sessionStart`` event, then
``sessionUpdate`` events carrying the log events ingested after the session started, until the
client disconnects, the session reaches its maximum duration (AWS: 3 h, then a
``SessionTimeoutException``) or the emulator stops.

New events are found by polling moto's logs backend in this process (every 50 ms by default):
each session remembers, per log stream, how many events it has already seen. An update is sent
as soon as a poll finds matching events, and an empty one after a second without any (as AWS),
which also lets a write failure reveal a client that went away.

Reads need no lock: moto appends events to a stream's list in place (``events += new``) and
adds streams to a group's dict; copying a dict or slicing a list is atomic under CPython's GIL,
so a session sees either the old or the new state, never a torn one.
"""

from __future__ import annotations

import json
import os
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from batchmagic.emulator.eventstream import event_message, exception_message
from batchmagic.emulator.livetail_request import (
    LiveTailError,
    LiveTailRequest,
    TailedGroup,
    invalid,
    parse_request,
)

TARGET = "Logs_20140328.StartLiveTail"
STATUS_PATH = "/batchmagic/live-tail"
MAX_DURATION_ENV = "BATCHMAGIC_EMULATOR_LIVE_TAIL_MAX_S"
# Refuse every StartLiveTail with this error, as AWS does without logs:StartLiveTail permission
# (AccessDeniedException) or over the concurrent-session quota (LimitExceededException): both
# are errors of StartLiveTail in botocore's logs model.
REFUSE_ENV = "BATCHMAGIC_EMULATOR_LIVE_TAIL_REFUSE"
REFUSALS = {
    "AccessDeniedException": "User is not authorized to perform: logs:StartLiveTail",
    "LimitExceededException": "Too many concurrent live tail sessions for this account.",
}
DEFAULT_MAX_DURATION_S = 3 * 3600.0
MAX_EVENTS_PER_UPDATE = 500
DEFAULT_REGION = "us-east-1"

StartResponse = Callable[..., Any]

def _logs_backend(account: str, region: str) -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[account][region]


def _moto_group(group: TailedGroup) -> Any:
    return _logs_backend(group.account, group.region).groups.get(group.name)


# --- Session ----------------------------------------------------------------------------------

@dataclass
class _Seen:
    stream: Any  # moto's LogStream (a recreated stream is a new object)
    count: int


@dataclass
class LiveTailSession:
    request: LiveTailRequest
    seen: dict[tuple[int, str], _Seen] = field(default_factory=dict)

    def start(self) -> None:
        """Everything already stored counts as seen: only later events are sent (as AWS)."""
        for index, group in enumerate(self.request.groups):
            moto_group = _moto_group(group)
            if moto_group is None:
                raise LiveTailError("ResourceNotFoundException",
                                    "The specified log group does not exist.")
            for name, stream in dict(moto_group.streams).items():
                self.seen[(index, name)] = _Seen(stream, len(stream.events))

    def poll(self) -> list[dict[str, Any]]:
        """Matching events ingested since the last poll, oldest ingestion first."""
        found: list[dict[str, Any]] = []
        for index, group in enumerate(self.request.groups):
            moto_group = _moto_group(group)
            if moto_group is None:
                continue
            arn = str(getattr(moto_group, "arn", group.identifier))
            for name, stream in dict(moto_group.streams).items():
                if not self.request.wants(name):
                    continue
                seen = self.seen.get((index, name))
                if seen is None or seen.stream is not stream:
                    seen = self.seen[(index, name)] = _Seen(stream, 0)
                events = stream.events
                total = len(events)
                if total < seen.count:  # events removed: carry on from the current end
                    seen.count = total
                    continue
                new = events[seen.count:total]
                seen.count = total
                found.extend({"logStreamName": name, "logGroupIdentifier": arn,
                              "message": e.message, "timestamp": e.timestamp,
                              "ingestionTime": e.ingestion_time}
                             for e in new if self.request.filter.matches(e.message))
        found.sort(key=lambda e: (e["ingestionTime"], e["timestamp"]))
        return found


# --- WSGI -------------------------------------------------------------------------------------

def _max_duration_from_env() -> float:
    value = os.environ.get(MAX_DURATION_ENV, "")
    try:
        return float(value) if value else DEFAULT_MAX_DURATION_S
    except ValueError:
        return DEFAULT_MAX_DURATION_S


def signing_region(environ: dict[str, Any]) -> str:
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    start = auth.find("Credential=")
    if start < 0:
        return DEFAULT_REGION
    scope = auth[start + len("Credential="):].split(",", 1)[0].split("/")
    return scope[2] if len(scope) >= 5 and scope[2] else DEFAULT_REGION


def _client_gone(sock: Any) -> bool:
    """Whether the client closed its end (readable with nothing to read: EOF)."""
    if not isinstance(sock, socket.socket):
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _refusal_from_env() -> str:
    code = os.environ.get(REFUSE_ENV, "")
    if code and code not in REFUSALS:
        raise ValueError(f"{REFUSE_ENV}={code!r}: use one of {', '.join(REFUSALS)}")
    return code


class LiveTailApi:
    """Serves StartLiveTail and a small status document; ``close()`` ends every session.
    ``$BATCHMAGIC_EMULATOR_LIVE_TAIL_REFUSE`` (read when it is made) refuses every session."""

    def __init__(self, max_duration_s: float | None = None, poll_interval_s: float = 0.05,
                 heartbeat_s: float = 1.0) -> None:
        self.max_duration_s = (_max_duration_from_env() if max_duration_s is None
                               else max_duration_s)
        self.poll_interval_s = poll_interval_s
        self.heartbeat_s = heartbeat_s
        self.refusal = _refusal_from_env()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._active = 0
        self._started = 0

    @staticmethod
    def handles(environ: dict[str, Any]) -> bool:
        return (environ.get("HTTP_X_AMZ_TARGET") == TARGET
                or environ.get("PATH_INFO") == STATUS_PATH)

    @property
    def active_sessions(self) -> int:
        with self._lock:
            return self._active

    def close(self, wait_s: float = 0.5) -> None:
        """End every session (and refuse new ones); wait a little for them to finish."""
        self._closed.set()
        deadline = time.monotonic() + wait_s
        while self.active_sessions and time.monotonic() < deadline:
            time.sleep(0.01)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        if environ.get("PATH_INFO") == STATUS_PATH:
            with self._lock:
                status = {"activeSessions": self._active, "sessionsStarted": self._started}
            return self._json(start_response, "200 OK", status)
        request_id = str(uuid.uuid4())
        try:
            if self._closed.is_set():
                raise LiveTailError("SessionStreamingException", "The emulator is stopping.")
            if self.refusal:
                raise LiveTailError(self.refusal, REFUSALS[self.refusal])
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            except (ValueError, OSError) as e:
                raise invalid(f"The request body is not JSON: {e}") from e
            if not isinstance(body, dict):
                raise invalid("The request body must be a JSON object.")
            request = parse_request(body, signing_region(environ))
            session = LiveTailSession(request)
            session.start()
        except LiveTailError as e:
            return self._json(start_response, "400 Bad Request",
                              {"__type": e.error_type, "message": e.message}, request_id)
        start: dict[str, Any] = {
            "requestId": request_id,
            "sessionId": str(uuid.uuid4()),
            "logGroupIdentifiers": [g.identifier for g in request.groups],
            "logEventFilterPattern": request.filter.pattern,
        }
        if request.stream_names is not None:
            start["logStreamNames"] = request.stream_names
        if request.stream_prefixes is not None:
            start["logStreamNamePrefixes"] = request.stream_prefixes
        start_response("200 OK", [("Content-Type", "application/vnd.amazon.eventstream"),
                                  ("x-amzn-RequestId", request_id)])
        return self._stream(session, start, environ.get("werkzeug.socket"))

    def _stream(self, session: LiveTailSession, start: dict[str, Any],
                sock: Any) -> Iterator[bytes]:
        with self._lock:
            self._active += 1
            self._started += 1
        try:
            # JSON-protocol event streams open with the operation's other output members
            # (StartLiveTail has none); botocore requires this event first.
            yield event_message("initial-response", {})
            yield event_message("sessionStart", start)
            began = last_sent = time.monotonic()
            while not self._closed.wait(self.poll_interval_s):
                now = time.monotonic()
                if now - began >= self.max_duration_s:
                    yield exception_message(
                        "SessionTimeoutException",
                        f"The session reached its maximum duration of {self.max_duration_s:g}"
                        " seconds.")
                    return
                if _client_gone(sock):
                    return
                events = session.poll()
                if not events and now - last_sent < self.heartbeat_s:
                    continue
                # AWS samples busy sessions down to 500 events a second; the emulator sends
                # everything, in updates of at most 500 events.
                for first in range(0, max(len(events), 1), MAX_EVENTS_PER_UPDATE):
                    yield event_message("sessionUpdate", {
                        "sessionMetadata": {"sampled": False},
                        "sessionResults": events[first:first + MAX_EVENTS_PER_UPDATE]})
                last_sent = now
        finally:
            with self._lock:
                self._active -= 1

    @staticmethod
    def _json(start_response: StartResponse, status: str, body: dict[str, Any],
              request_id: str | None = None) -> list[bytes]:
        raw = json.dumps(body).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"),
                   ("Content-Length", str(len(raw)))]
        if request_id is not None:
            headers.append(("x-amzn-RequestId", request_id))
        start_response(status, headers)
        return [raw]

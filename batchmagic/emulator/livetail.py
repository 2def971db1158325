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
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from batchmagic.emulator.logsink import ACCOUNT_ID

TARGET = "Logs_20140328.StartLiveTail"
STATUS_PATH = "/batchmagic/live-tail"
MAX_DURATION_ENV = "BATCHMAGIC_EMULATOR_LIVE_TAIL_MAX_S"
DEFAULT_MAX_DURATION_S = 3 * 3600.0
MAX_EVENTS_PER_UPDATE = 500
DEFAULT_REGION = "us-east-1"

StartResponse = Callable[..., Any]


# --- AWS event-stream framing -----------------------------------------------------------------

def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude, prelude CRC, string headers, payload, message CRC."""
    encoded = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded += (struct.pack("!B", len(raw_name)) + raw_name
                    + struct.pack("!BH", 7, len(raw_value)) + raw_value)
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    message = prelude + struct.pack("!I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack("!I", zlib.crc32(message))


def event_message(event_type: str, body: dict[str, Any]) -> bytes:
    return encode_message({":message-type": "event", ":event-type": event_type,
                           ":content-type": "application/json"},
                          json.dumps(body).encode())


def exception_message(exception_type: str, message: str) -> bytes:
    return encode_message({":message-type": "exception", ":exception-type": exception_type,
                           ":content-type": "application/json"},
                          json.dumps({"message": message}).encode())


# --- Request ----------------------------------------------------------------------------------

class LiveTailError(Exception):
    """A request error, answered as a JSON 1.1 error (HTTP 400, ``__type``)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def _invalid(message: str) -> LiveTailError:
    return LiveTailError("InvalidParameterException", message)


class FilterPattern:
    """The term subset of CloudWatch Logs filter patterns, case-sensitive substring matches.

    ``""`` matches everything; ``ERROR 404`` needs both terms; ``"exact phrase"`` is one term;
    ``?ERROR ?WARN`` needs at least one of the ``?`` terms; ``-DEBUG`` excludes a term.
    JSON (``{...}``), space-delimited (``[...]``) and regex (``%...%``) patterns are rejected.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.required: list[str] = []
        self.optional: list[str] = []
        self.excluded: list[str] = []
        text = pattern.strip()
        if text[:1] in ("{", "[", "%"):
            raise _invalid("This emulator supports only term filter patterns in "
                           f"logEventFilterPattern, not {pattern!r}.")
        position = 0
        while position < len(text):
            if text[position].isspace():
                position += 1
                continue
            kind = text[position] if text[position] in "?-" else ""
            position += len(kind)
            if position < len(text) and text[position] == '"':
                end = text.find('"', position + 1)
                if end < 0:
                    raise _invalid(f"Unterminated quote in filter pattern {pattern!r}.")
                term, position = text[position + 1:end], end + 1
            else:
                end = position
                while end < len(text) and not text[end].isspace():
                    end += 1
                term, position = text[position:end], end
            if term:
                {"?": self.optional, "-": self.excluded, "": self.required}[kind].append(term)

    def matches(self, message: str) -> bool:
        return (all(term in message for term in self.required)
                and (not self.optional or any(term in message for term in self.optional))
                and not any(term in message for term in self.excluded))


@dataclass
class TailedGroup:
    identifier: str  # as the client gave it
    name: str
    account: str
    region: str


@dataclass
class LiveTailRequest:
    groups: list[TailedGroup]
    stream_names: list[str] | None
    stream_prefixes: list[str] | None
    filter: FilterPattern

    def wants(self, stream_name: str) -> bool:
        if self.stream_names is not None:
            return stream_name in self.stream_names
        if self.stream_prefixes is not None:
            return any(stream_name.startswith(p) for p in self.stream_prefixes)
        return True


def _string_list(body: dict[str, Any], key: str, most: int,
                 required: bool = False) -> list[str] | None:
    value = body.get(key)
    if value is None:
        if required:
            raise _invalid(f"1 validation error detected: Value null at '{key}' failed to "
                           "satisfy constraint: Member must not be null")
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _invalid(f"{key} must be a list of non-empty strings.")
    if not 1 <= len(value) <= most:
        raise _invalid(f"1 validation error detected: Value at '{key}' failed to satisfy "
                       f"constraint: Member must have length between 1 and {most}")
    return list(value)


def _group(identifier: str, region: str) -> TailedGroup:
    if identifier.endswith("*"):
        raise _invalid("A log group ARN in logGroupIdentifiers can't end with an asterisk (*).")
    if not identifier.startswith("arn:"):
        return TailedGroup(identifier, identifier, ACCOUNT_ID, region)
    # arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME
    parts = identifier.split(":", 6)
    if len(parts) != 7 or parts[2] != "logs" or parts[5] != "log-group" or not parts[6]:
        raise _invalid(f"{identifier!r} is not a log group ARN.")
    return TailedGroup(identifier, parts[6], parts[4], parts[3])


def parse_request(body: dict[str, Any], region: str) -> LiveTailRequest:
    identifiers = _string_list(body, "logGroupIdentifiers", 10, required=True) or []
    names = _string_list(body, "logStreamNames", 100)
    prefixes = _string_list(body, "logStreamNamePrefixes", 100)
    if names is not None and prefixes is not None:
        raise _invalid("Only one of logStreamNames or logStreamNamePrefixes can be provided.")
    if (names is not None or prefixes is not None) and len(identifiers) != 1:
        raise _invalid("logStreamNames and logStreamNamePrefixes can only be used with a "
                       "single log group.")
    pattern = body.get("logEventFilterPattern") or ""
    if not isinstance(pattern, str) or len(pattern) > 1024:
        raise _invalid("logEventFilterPattern must be a string of at most 1024 characters.")
    return LiveTailRequest([_group(i, region) for i in identifiers], names, prefixes,
                           FilterPattern(pattern))


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


def _signing_region(environ: dict[str, Any]) -> str:
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


class LiveTailApi:
    """Serves StartLiveTail and a small status document; ``close()`` ends every session."""

    def __init__(self, max_duration_s: float | None = None, poll_interval_s: float = 0.05,
                 heartbeat_s: float = 1.0) -> None:
        self.max_duration_s = (_max_duration_from_env() if max_duration_s is None
                               else max_duration_s)
        self.poll_interval_s = poll_interval_s
        self.heartbeat_s = heartbeat_s
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
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            except (ValueError, OSError) as e:
                raise _invalid(f"The request body is not JSON: {e}") from e
            if not isinstance(body, dict):
                raise _invalid("The request body must be a JSON object.")
            request = parse_request(body, _signing_region(environ))
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

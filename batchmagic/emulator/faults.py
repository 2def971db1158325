"""Fault and latency injection: a WSGI middleware in front of the emulator's dispatcher.

``--faults "latency=150ms±50,throttle=0.2,error=0.05,reset=0.02,after=0.5,seed=7"`` makes the
emulator behave like a busy AWS region, so that clients are tested against faults instead of
hoping for the best:

latency
    Every request waits ``150 ms ± 50`` (uniform) before it is served. Units ``ms`` or ``s``
    (a bare number is milliseconds); ``+-`` works where ``±`` is awkward to type.
throttle
    The share of requests refused as throttled, in each protocol's own shape: S3
    ``503 SlowDown``, Batch ``429 TooManyRequestsException``, CloudWatch Logs
    ``400 ThrottlingException``, IAM/STS ``400 Throttling``, EC2 ``503 RequestLimitExceeded``.
    A throttled request is never carried out (AWS refuses before doing anything).
error
    The share answered with a server error: S3 ``500 InternalError``, Batch
    ``500 ServerException``, Logs ``500 ServiceUnavailableException``, IAM/STS/EC2
    ``500 InternalFailure``/``InternalError``.
reset
    The share whose connection is reset (TCP RST, no HTTP answer at all).
after
    Of the errors and resets, the share that happens *after* the request was carried out: the
    object is written, the job submitted, the events read - and the client still sees a
    failure, as with a response lost on the way back. Retried calls must be idempotent.
seed
    Faults are drawn from ``Random(seed, operation, n)`` for the n-th call of each operation,
    so a seeded run draws the same faults for the same calls (concurrent calls of one
    operation can still arrive in a different order). Without a seed one is chosen and shown.
jobs
    ``jobs=1`` also injects faults into what the emulator's own jobs send (the AWS CLI of the
    stage-in/stage-out containers, SDK calls made by a cell). By default jobs reach a healthy
    endpoint, so only the client under test meets the faults.

Streaming answers (``StartLiveTail``) get latency and the faults that come before the request;
an ``after`` fault on them becomes a fault before. The health check is never faulted.

Sources for the shapes: S3 error codes (https://docs.aws.amazon.com/AmazonS3/latest/API/
ErrorResponses.html: SlowDown 503, InternalError 500); Batch (botocore batch model:
ServerException; throttled Batch calls answer 429 TooManyRequestsException, which botocore's
retry handlers list as throttling); Logs (botocore logs model: ThrottlingException,
ServiceUnavailableException); IAM/STS ``Throttling`` and EC2 ``RequestLimitExceeded``
(botocore/data/_retry.json's throttling codes).
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# The access key the emulator gives its jobs (launch.py): how job traffic is told apart.
JOB_ACCESS_KEY = "batchmagic-job"
_LATENCY = re.compile(r"^(?P<base>\d+(?:\.\d+)?)(?P<unit>ms|s)?"
                      r"(?:(?:±|\+-|\+/-)(?P<jitter>\d+(?:\.\d+)?)(?P<junit>ms|s)?)?$")
_SHARES = ("throttle", "error", "reset", "after")


class FaultSpecError(ValueError):
    """A --faults value that cannot be parsed; the message says which part and why."""


@dataclass(frozen=True)
class FaultSpec:
    """What to inject: latency (seconds) and the shares of throttles, errors and resets."""

    latency_s: float = 0.0
    jitter_s: float = 0.0
    throttle: float = 0.0
    error: float = 0.0
    reset: float = 0.0
    after: float = 0.0
    seed: int = 0
    jobs: bool = False

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """``"latency=150ms±50,throttle=0.2,error=0.05,reset=0.02,after=0.5,seed=7"``."""
        values: dict[str, Any] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            name, sep, value = part.partition("=")
            name, value = name.strip(), value.strip()
            if not sep or not value:
                raise FaultSpecError(f"--faults: {part!r} is not NAME=VALUE")
            if name == "latency":
                values["latency_s"], values["jitter_s"] = _parse_latency(value)
            elif name in _SHARES:
                values[name] = _parse_share(name, value)
            elif name == "seed":
                values["seed"] = _parse_int(name, value)
            elif name == "jobs":
                values["jobs"] = value.lower() in ("1", "true", "yes", "on")
            else:
                raise FaultSpecError(
                    f"--faults: unknown fault {name!r} (known: latency, throttle, error, "
                    "reset, after, seed, jobs)")
        if values.get("throttle", 0) + values.get("error", 0) + values.get("reset", 0) > 1:
            raise FaultSpecError("--faults: throttle + error + reset must not exceed 1")
        if "seed" not in values:
            values["seed"] = int.from_bytes(os.urandom(4), "big")
        return cls(**values)

    def describe(self) -> str:
        parts = []
        if self.latency_s or self.jitter_s:
            parts.append(f"latency={self.latency_s * 1000:g}ms±{self.jitter_s * 1000:g}")
        parts += [f"{name}={getattr(self, name):g}" for name in _SHARES if getattr(self, name)]
        parts.append(f"seed={self.seed}")
        if self.jobs:
            parts.append("jobs=1")
        return ",".join(parts)


def _parse_latency(value: str) -> tuple[float, float]:
    match = _LATENCY.match(value.replace(" ", ""))
    if not match:
        raise FaultSpecError(f"--faults: latency {value!r} is not like 150ms±50")
    scale = 1.0 if match["unit"] == "s" else 0.001
    jitter_scale = {"s": 1.0, "ms": 0.001}.get(match["junit"] or "", scale)
    base = float(match["base"]) * scale
    jitter = float(match["jitter"] or 0) * jitter_scale
    return base, min(jitter, base)


def _parse_share(name: str, value: str) -> float:
    try:
        share = float(value.rstrip("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        raise FaultSpecError(f"--faults: {name}={value!r} is not a number") from None
    if not 0 <= share <= 1:
        raise FaultSpecError(f"--faults: {name}={value} must be between 0 and 1")
    return share


def _parse_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise FaultSpecError(f"--faults: {name}={value!r} is not an integer") from None


def request_service(environ: dict[str, Any]) -> str:
    """batch, logs, s3, iam, sts or ec2: the SigV4 scope's service, else guessed from the shape."""
    from batchmagic.emulator.server import is_batch_request, signing_service

    service = signing_service(environ)
    if service:
        return service
    if is_batch_request(environ):
        return "batch"
    if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("Logs_"):
        return "logs"
    return "s3"


def operation_label(environ: dict[str, Any], service: str) -> str:
    """A stable name for the call (``logs:GetLogEvents``, ``s3:PUT``) that keys the seed."""
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    if service == "batch":
        return f"batch:{environ.get('PATH_INFO', '')}"
    return f"{service}:{environ.get('REQUEST_METHOD', '')}"


def _is_job_traffic(environ: dict[str, Any]) -> bool:
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    return f"Credential={JOB_ACCESS_KEY}/" in auth


def _is_streaming(environ: dict[str, Any]) -> bool:
    return str(environ.get("HTTP_X_AMZ_TARGET", "")).endswith(".StartLiveTail")


# (status, code, message) per service for a throttle and for a server error.
_THROTTLE = {
    "s3": ("503 Slow Down", "SlowDown", "Please reduce your request rate."),
    "batch": ("429 Too Many Requests", "TooManyRequestsException", "Too Many Requests"),
    "logs": ("400 Bad Request", "ThrottlingException", "Rate exceeded"),
    "iam": ("400 Bad Request", "Throttling", "Rate exceeded"),
    "sts": ("400 Bad Request", "Throttling", "Rate exceeded"),
    "ec2": ("503 Service Unavailable", "RequestLimitExceeded", "Request limit exceeded."),
}
_SERVER_ERROR = {
    "s3": ("500 Internal Server Error", "InternalError",
           "We encountered an internal error. Please try again."),
    "batch": ("500 Internal Server Error", "ServerException", "Internal server error"),
    "logs": ("500 Internal Server Error", "ServiceUnavailableException",
             "The service cannot complete the request."),
    "iam": ("500 Internal Server Error", "InternalFailure", "Internal failure"),
    "sts": ("500 Internal Server Error", "InternalFailure", "Internal failure"),
    "ec2": ("500 Internal Server Error", "InternalError", "An internal error has occurred"),
}


def error_response(service: str, status: str, code: str, message: str,
                   ) -> tuple[str, list[tuple[str, str]], bytes]:
    """The error in the service's own protocol: REST-XML, REST-JSON, JSON 1.1 or query XML."""
    request_id = os.urandom(8).hex()
    if service == "batch":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    elif service == "logs":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1")]
    elif service == "ec2":
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
                f"</Error></Errors><RequestID>{request_id}</RequestID></Response>").encode()
        headers = [("Content-Type", "text/xml")]
    elif service in ("iam", "sts"):
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
                "</ErrorResponse>").encode()
        headers = [("Content-Type", "text/xml")]
    else:
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
                ).encode()
        headers = [("Content-Type", "application/xml")]
    headers += [("x-amzn-RequestId", request_id), ("Content-Length", str(len(body)))]
    return status, headers, body


def reset_connection(environ: dict[str, Any]) -> None:
    """Abort the client's TCP connection with an RST; the server's later writes fail quietly.

    SO_LINGER 0 makes the last close of the socket send RST instead of FIN. dup2 of a dead
    socketpair end over the socket's descriptor is that last close, done atomically (so the
    server thread, which still holds the descriptor number, cannot write into a reused one);
    its writes then fail with EPIPE, which the server treats as a client that went away.
    """
    sock = environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket):
        raise ConnectionResetError("injected connection reset")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    dead, peer = socket.socketpair()
    peer.close()
    try:
        os.dup2(dead.fileno(), sock.fileno())
    finally:
        dead.close()


def _drain_body(environ: dict[str, Any]) -> None:
    stream = environ.get("wsgi.input")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    while stream is not None and length > 0:
        chunk = stream.read(min(length, 1 << 16))
        if not chunk:
            break
        length -= len(chunk)


class FaultInjector:
    """WSGI middleware: latency, throttles, server errors and resets, before or after the call."""

    def __init__(self, app: WsgiApp, spec: FaultSpec, exempt_paths: tuple[str, ...] = ()):
        self.app = app
        self.spec = spec
        self.exempt_paths = exempt_paths
        self.injected: Counter[str] = Counter()
        self._calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"spec": self.spec.describe(), "requests": sum(self._calls.values()),
                    "injected": dict(self.injected)}

    def _draw(self, label: str) -> random.Random:
        with self._lock:
            self._calls[label] += 1
            n = self._calls[label]
        return random.Random(f"{self.spec.seed}:{label}:{n}")

    def _count(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") in self.exempt_paths or (
                not self.spec.jobs and _is_job_traffic(environ)):
            return self.app(environ, start_response)
        service = request_service(environ)
        rng = self._draw(operation_label(environ, service))
        spec = self.spec
        if spec.latency_s:
            time.sleep(max(0.0, rng.uniform(spec.latency_s - spec.jitter_s,
                                            spec.latency_s + spec.jitter_s)))
        roll = rng.random()
        if roll < spec.throttle:
            self._count("throttle")
            _drain_body(environ)  # the connection stays usable for the client's next call
            return self._respond(start_response, service, _THROTTLE[service])
        kind = ("error" if roll < spec.throttle + spec.error
                else "reset" if roll < spec.throttle + spec.error + spec.reset else "")
        if not kind:
            return self.app(environ, start_response)
        if rng.random() < spec.after and not _is_streaming(environ):
            self._carry_out(environ)
            kind += "-after"
        else:
            _drain_body(environ)
        self._count(kind)
        if kind.startswith("reset"):
            reset_connection(environ)
            start_response("500 Internal Server Error", [("Content-Length", "0")])
            return [b""]
        return self._respond(start_response, service, _SERVER_ERROR[service])

    def _carry_out(self, environ: dict[str, Any]) -> None:
        """Serve the request for real and throw the answer away."""
        result = self.app(environ, lambda *args, **kwargs: (lambda data: None))
        try:
            for _ in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _respond(self, start_response: Callable[..., Any], service: str,
                 error: tuple[str, str, str]) -> list[bytes]:
        status, headers, body = error_response(service, *error)
        start_response(status, headers)
        return [body]

"""CloudWatch Logs rules that moto does not enforce, checked before a request reaches it.

FilterLogEvents with ``logStreamNames``: AWS answers ``ResourceNotFoundException`` ("The
specified log stream does not exist.") when one of the named streams does not exist, where moto
searches the streams it has and ignores the rest (public report of AWS's answer:
github.com/percona/rds_exporter/issues/81, a FilterLogEvents by stream names); and both
``logStreamNames`` and ``logStreamNamePrefix`` is an ``InvalidParameterException`` (API
reference, FilterLogEvents). A client that relies on the missing stream being skipped works
here and fails on AWS: the emulator refuses it too.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from batchmagic.emulator.livetail import signing_region
from batchmagic.emulator.logsink import ACCOUNT_ID

FILTER_TARGET = "Logs_20140328.FilterLogEvents"


def _refusal(body: dict[str, Any], region: str) -> tuple[str, str] | None:
    names = body.get("logStreamNames")
    if not names:
        return None
    if body.get("logStreamNamePrefix"):
        return ("InvalidParameterException",
                "logStreamNames and logStreamNamePrefix cannot both be specified.")
    from moto.logs.models import logs_backends

    group = logs_backends[ACCOUNT_ID][region].groups.get(str(body.get("logGroupName", "")))
    if group is None:
        return None  # moto's own answer: the log group does not exist
    if any(name not in group.streams for name in names):
        return "ResourceNotFoundException", "The specified log stream does not exist."
    return None


def check_logs_request(environ: dict[str, Any],
                       start_response: Callable[..., Any]) -> list[bytes] | None:
    """The error answer for a request AWS would refuse, or None (the body is kept readable)."""
    if environ.get("HTTP_X_AMZ_TARGET") != FILTER_TARGET:
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return None  # moto answers malformed bodies
    refusal = _refusal(body, signing_region(environ)) if isinstance(body, dict) else None
    if refusal is None:
        return None
    answer = json.dumps({"__type": refusal[0], "message": refusal[1]}).encode()
    start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"),
                                       ("Content-Length", str(len(answer)))])
    return [answer]

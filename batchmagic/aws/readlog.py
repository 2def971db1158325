"""Read one whole CloudWatch Logs stream, from its first event to its end.

``get_log_events(startFromHead=True)`` pages forward with ``nextForwardToken``; the end is the
page that returns the token it was given (an empty page with a new token means "keep reading":
AWS scans the stream in time slices). See the GetLogEvents API reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.errors import aws_errors
from batchmagic.settings import LOG_GROUP


def read_stream(clients: AwsClients, log_stream: str, log_group: str = LOG_GROUP) -> Iterator[str]:
    """Every message of the stream, in order."""
    token: str | None = None
    while True:
        request: dict[str, Any] = {"logGroupName": log_group, "logStreamName": log_stream,
                                   "startFromHead": True}
        if token is not None:
            request["nextToken"] = token
        with aws_errors(f"GetLogEvents {log_group}:{log_stream}"):
            page = clients.logs.get_log_events(**request)
        for event in page.get("events", []):
            yield str(event.get("message", ""))
        next_token = page.get("nextForwardToken")
        if next_token is None or next_token == token:
            return
        token = next_token

"""AWS Batch over HTTP: rest-json routing, request parsing and AWS-shaped error responses."""

from __future__ import annotations

import json
import sys
import traceback
import urllib.parse
from collections.abc import Callable
from typing import Any

from batchmagic.emulator.errors import BatchError

Handler = Callable[[dict[str, Any]], dict[str, Any]]

# Every operation the emulator serves, by its request path (POST /v1/<lowercase name>).
OPERATIONS = (
    "CreateComputeEnvironment", "DescribeComputeEnvironments", "UpdateComputeEnvironment",
    "DeleteComputeEnvironment", "CreateJobQueue", "DescribeJobQueues", "UpdateJobQueue",
    "DeleteJobQueue", "RegisterJobDefinition", "DescribeJobDefinitions",
    "DeregisterJobDefinition", "SubmitJob", "DescribeJobs", "ListJobs", "TerminateJob",
    "CancelJob",
)
BATCH_PATHS = frozenset(f"/v1/{name.lower()}" for name in OPERATIONS)


def _response(start_response: Callable[..., Any], status: int, body: dict[str, Any],
              headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    data = json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
              500: "Internal Server Error"}.get(status, "Error")
    start_response(f"{status} {reason}", [("Content-Type", "application/json"),
                                         ("Content-Length", str(len(data))), *(headers or [])])
    return [data]


def error_response(start_response: Callable[..., Any], error: BatchError) -> list[bytes]:
    """botocore's rest-json parser takes the code from x-amzn-ErrorType, else from __type."""
    return _response(start_response, error.status,
                     {"__type": error.code, "message": error.message},
                     [("x-amzn-ErrorType", f"{error.code}:")])


def _region(environ: dict[str, Any]) -> str:
    """The region of the SigV4 credential scope (any region is accepted)."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    start = auth.find("Credential=")
    if start >= 0:
        scope = auth[start + len("Credential="):].split(",", 1)[0].split("/")
        if len(scope) >= 5 and scope[2]:
            return scope[2]
    return "us-east-1"


def _read_json(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchError(f"Could not parse request body into json: {exc}") from None
    if not isinstance(body, dict):
        raise BatchError("Could not parse request body into json: expected an object")
    return body


class BatchApi:
    """The WSGI app for the Batch API; the state and the job runner live in the backend."""

    def __init__(self, min_timeout_s: int | None = None) -> None:
        from batchmagic.emulator.backend import BatchBackend

        self.backend = BatchBackend(min_timeout_s)

    def start(self, endpoint_url: str) -> None:
        self.backend.start(endpoint_url)

    def shutdown(self) -> None:
        self.backend.shutdown()

    def busy_jobs(self) -> int:
        """Jobs queued or running (an idle emulator may stop by itself)."""
        runner = self.backend.runner
        return runner.workers - runner.idle + runner.pending.qsize()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            return _response(start_response, 200, self._dispatch(environ))
        except BatchError as error:
            return error_response(start_response, error)
        except Exception as exc:  # an emulator bug: a short 500, the traceback on stderr
            traceback.print_exc(file=sys.stderr)
            return error_response(start_response, BatchError(
                f"Internal error in the emulator: {type(exc).__name__}: {exc}",
                code="ServerException", status=500))

    def _dispatch(self, environ: dict[str, Any]) -> dict[str, Any]:
        path = str(environ.get("PATH_INFO", "")).rstrip("/")
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if path.startswith("/v1/tags/"):
            arn = urllib.parse.unquote(path[len("/v1/tags/"):])
            return self._tags(method, arn, environ)
        if path not in BATCH_PATHS:
            raise BatchError(f"Unknown operation: {method} {path}",
                             code="UnknownOperationException", status=404)
        if method != "POST":
            raise BatchError(f"Method {method} is not allowed on {path}", status=405)
        operation = path[len("/v1/"):]
        handler: Handler = getattr(self.backend, f"op_{operation}")
        request = _read_json(environ)
        request["__region"] = _region(environ)
        return handler(request)

    def _tags(self, method: str, arn: str, environ: dict[str, Any]) -> dict[str, Any]:
        if method == "GET":
            return {"tags": self.backend.list_tags(arn)}
        if method == "POST":
            self.backend.tag_resource(arn, _read_json(environ).get("tags") or {})
            return {}
        if method == "DELETE":
            query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")))
            self.backend.untag_resource(arn, query.get("tagKeys", []))
            return {}
        raise BatchError(f"Method {method} is not allowed on /v1/tags", status=405)

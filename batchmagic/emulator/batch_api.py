"""AWS Batch over HTTP: rest-json routing, request parsing and AWS-shaped error responses.

Requests are parsed here, at the edge (as moto's ``responses.py`` does): the JSON body's
members become keyword arguments of the backend's typed method for the operation
(``SubmitJob`` -> ``submit_job(region=..., job_name=..., job_queue=...)``), so the backend
never sees raw request dicts. Members the backend does not model are ignored, as before;
a missing member that the method requires is a ClientException.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
import traceback
import urllib.parse
from collections.abc import Callable
from typing import Any

from batchmagic.emulator.errors import BatchError
from batchmagic.emulator.validation import check_request_size

# Every operation the emulator serves, by its request path (POST /v1/<lowercase name>).
OPERATIONS = (
    "CreateComputeEnvironment", "DescribeComputeEnvironments", "UpdateComputeEnvironment",
    "DeleteComputeEnvironment", "CreateJobQueue", "DescribeJobQueues", "UpdateJobQueue",
    "DeleteJobQueue", "RegisterJobDefinition", "DescribeJobDefinitions",
    "DeregisterJobDefinition", "SubmitJob", "DescribeJobs", "ListJobs", "TerminateJob",
    "CancelJob",
)
BATCH_PATHS = frozenset(f"/v1/{name.lower()}" for name in OPERATIONS)
_OPERATION_BY_PATH = {f"/v1/{name.lower()}": name for name in OPERATIONS}
# Member names whose snake_case is not the plain split at capitals.
_MEMBER_ALIASES = {"unmanagedvCpus": "unmanaged_vcpus"}


def snake_case(name: str) -> str:
    """``SubmitJob`` -> ``submit_job``, ``jobQueue`` -> ``job_queue``."""
    return _MEMBER_ALIASES.get(name) or re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def call_with_members(method: Callable[..., dict[str, Any]], body: dict[str, Any],
                      **fixed: Any) -> dict[str, Any]:
    """Call a typed backend method with the body's members as keyword arguments."""
    members = {snake_case(name): value for name, value in body.items()}
    kwargs: dict[str, Any] = dict(fixed)
    for name, parameter in inspect.signature(method).parameters.items():
        if name in fixed:
            continue
        if name in members:
            kwargs[name] = members[name]
        elif parameter.default is inspect.Parameter.empty:
            camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)
            raise BatchError(f"{camel} is a required member of the request.")
    return method(**kwargs)


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


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    data: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    return data


def _parse_json(raw: bytes) -> dict[str, Any]:
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
        operation = _OPERATION_BY_PATH[path]
        raw = _read_body(environ)
        check_request_size(operation, len(raw))
        backend_method = getattr(self.backend, snake_case(operation))
        return call_with_members(backend_method, _parse_json(raw), region=_region(environ))

    def _tags(self, method: str, arn: str, environ: dict[str, Any]) -> dict[str, Any]:
        if method == "GET":
            return self.backend.list_tags_for_resource(resource_arn=arn)
        if method == "POST":
            return call_with_members(self.backend.tag_resource,
                                     _parse_json(_read_body(environ)), resource_arn=arn)
        if method == "DELETE":
            query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")))
            return self.backend.untag_resource(resource_arn=arn,
                                               tag_keys=query.get("tagKeys", []))
        raise BatchError(f"Method {method} is not allowed on /v1/tags", status=405)

"""The emulator's one endpoint: a WSGI app that sends AWS Batch to our implementation, the rest
to moto's server app, served by a threaded werkzeug server with keep-alive connections
(``http11.py``).

Batch requests are recognised by their SigV4 credential scope (service ``batch``) or, when
unsigned, by a ``/v1/`` path that is a Batch operation.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from batchmagic.emulator.batch_api import BATCH_PATHS, BatchApi
from batchmagic.emulator.defaultvpc import complete_default_vpc, ec2_region
from batchmagic.emulator.faults import FaultInjector, FaultSpec
from batchmagic.emulator.http11 import KeepAliveHandler, KeepAliveServer
from batchmagic.emulator.images import bare_python_ready
from batchmagic.emulator.livetail import LiveTailApi
from batchmagic.emulator.logsrules import check_logs_request

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
HEALTH_PATH = "/batchmagic/health"


def signing_service(environ: dict[str, Any]) -> str | None:
    """The service of a SigV4 Authorization header's credential scope, if any."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    marker = "Credential="
    start = auth.find(marker)
    if start < 0:
        return None
    scope = auth[start + len(marker):].split(",", 1)[0].split("/")
    return scope[3].lower() if len(scope) >= 5 else None


def is_batch_request(environ: dict[str, Any]) -> bool:
    path = str(environ.get("PATH_INFO", ""))
    service = signing_service(environ)
    if service is not None:
        return service == "batch"
    return path.rstrip("/") in BATCH_PATHS or path.startswith("/v1/tags/")


class Dispatcher:
    """Route one request: health check, AWS Batch, Logs StartLiveTail, or moto."""

    def __init__(self, batch: BatchApi, moto_app: WsgiApp, info: dict[str, Any],
                 live_tail: LiveTailApi | None = None) -> None:
        self.batch = batch
        self.moto_app = moto_app
        self.info = info
        self.live_tail = live_tail or LiveTailApi()
        self.last_request = time.monotonic()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.last_request = time.monotonic()
        if environ.get("PATH_INFO") == HEALTH_PATH:
            body = json.dumps({"status": "ok", **self.info,
                               "busy_jobs": self.batch.busy_jobs()}).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        if is_batch_request(environ):
            return self.batch(environ, start_response)
        if self.live_tail.handles(environ):  # streamed; moto's answer is a one-shot snapshot
            return self.live_tail(environ, start_response)
        refused = check_logs_request(environ, start_response)
        if refused is not None:
            return refused
        region = ec2_region(environ)
        if region is not None:
            complete_default_vpc(region)
        return self.moto_app(environ, start_response)


def _moto_app() -> tuple[WsgiApp, type[KeepAliveHandler]]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app

    from batchmagic.emulator import iampolicies, motoload, s3files, serializing
    from batchmagic.emulator.routing import CachedDispatcherApplication

    s3files.install()  # big objects stay on disk, streamed in and out
    serializing.install()  # timestamps in responses without dateutil
    motoload.defer_instance_type_offerings()  # before anything imports moto's EC2
    motoload.list_service_names_once()
    iampolicies.defer_aws_managed_policies()  # before the first IAM backend is made

    class QuietHandler(KeepAliveHandler, MotoRequestHandler):
        """No access log line per request (clients poll logs and jobs many times a second)."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return None

    return CachedDispatcherApplication(create_backend_app), QuietHandler


class EmulatorServer:
    """A threaded werkzeug server for the dispatcher, started and stopped from Python."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 min_timeout_s: int | None = None, faults: FaultSpec | None = None, *,
                 warm_up: bool = False) -> None:
        self.host = host
        self.port = port
        self.min_timeout_s = min_timeout_s
        self.faults = faults
        self.fault_injector: FaultInjector | None = None
        self.warm_up = warm_up  # load backends and the warm AWS CLI now, in the background
        self._server: KeepAliveServer | None = None
        self._dispatcher: Dispatcher | None = None
        self._thread: threading.Thread | None = None
        self.batch: BatchApi | None = None
        self.live_tail = LiveTailApi()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> None:
        import os
        import sys

        # As in a real account, AWS managed policies (AmazonECSTaskExecutionRolePolicy, ...)
        # exist and can be attached; moto only loads them when asked to.
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        moto_app, handler = _moto_app()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # Bind first (port 0 = a free port), then tell the Batch layer the URL jobs must use.
        batch = BatchApi(self.min_timeout_s)
        from batchmagic.emulator.identity import interpreter_id

        info: dict[str, Any] = {"python": sys.executable, "environment": interpreter_id(),
                                "pid": os.getpid()}
        self._dispatcher = Dispatcher(batch, moto_app, info, self.live_tail)
        app: WsgiApp = self._dispatcher
        if self.faults is not None:
            # A layer of its own, in front of everything but the health check.
            self.fault_injector = FaultInjector(app, self.faults, exempt_paths=(HEALTH_PATH,))
            info["faults"] = self.faults.describe()
            app = self.fault_injector
        self._server = KeepAliveServer(self.host, self.port, app, handler=handler)
        batch.start(self.url)
        info["url"] = self.url
        self.batch = batch
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="batchmagic-emulator", daemon=True)
        self._thread.start()
        # The emulated Python image's interpreter is made once per machine: do it now, off the
        # first job's path.
        threading.Thread(target=bare_python_ready, name="batchmagic-bare-python",
                         daemon=True).start()
        if self.warm_up:
            from batchmagic.emulator.warmup import warm_up

            threading.Thread(target=warm_up, name="batchmagic-emulator-warm-up",
                             daemon=True).start()
        atexit.register(self.stop)  # an exiting interpreter must not leave jobs running

    def idle_seconds(self) -> float:
        """How long no request came and no job ran (0 while a job is queued or running)."""
        if self._dispatcher is None or self.batch is None or self.batch.busy_jobs():
            return 0.0
        return time.monotonic() - self._dispatcher.last_request

    def stop(self) -> None:
        """Stop serving, kill every running job's processes, remove scratch directories."""
        atexit.unregister(self.stop)
        self.live_tail.close()  # open StartLiveTail streams end now
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.batch is not None:
            self.batch.shutdown()
        self._server = None
        self._thread = None

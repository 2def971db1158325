"""HTTP/1.1 with keep-alive for the emulator's threaded werkzeug server.

werkzeug's development server answers every request with ``Connection: close``: each boto3 call
then pays a new TCP connection, and many small S3 requests (2,000 staged files) are bound by
that, not by the work. AWS endpoints keep connections alive, and botocore pools them
(``max_pool_connections``). This handler does too: one thread per connection (the threaded
server), requests served one after another on it, which is safe because

- the request body is read through a reader bounded by its ``Content-Length``, and whatever
  the application left unread is drained before the next request line is read — or, if that
  is more than ``DRAIN_LIMIT``, the connection is closed instead (as after a chunked body);
- every response is framed: ``Content-Length`` from the application, else chunked transfer
  encoding (HTTP/1.1 clients) or end-of-connection (HTTP/1.0 clients);
- a response that fails midway, or whose length does not match what it declared, closes the
  connection, as does a client that asks for ``Connection: close``;
- an idle connection is closed after ``IDLE_TIMEOUT_S`` (botocore notices and reconnects), and
  ``KeepAliveServer.close_connections`` ends all of them when the emulator stops.

The status line and headers go out in the same ``send`` as the first piece of a small body
(``COALESCE_LIMIT``): one write per small response instead of two, which is a measurable
share of the emulator's CPU when thousands of small objects are read.

The WSGI application is unchanged: anything that wraps it (fault injection, the dispatcher)
keeps working.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

IDLE_TIMEOUT_S = 60.0
DRAIN_LIMIT = 1024 * 1024
COALESCE_LIMIT = 64 * 1024


class BoundedBody(io.RawIOBase):
    """The request body: at most ``length`` bytes of the connection, never the next request."""

    def __init__(self, raw: Any, length: int) -> None:
        super().__init__()
        self._raw = raw
        self.remaining = max(0, length)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.remaining <= 0:
            return 0
        view = memoryview(buffer)[: self.remaining]
        count = self._raw.readinto(view)
        if not count:
            raise ConnectionError("the client closed the connection before the end of the body")
        self.remaining -= count
        return int(count)

    def drain(self, limit: int) -> bool:
        """Read and drop what is left (at most ``limit`` bytes); True when the body is done."""
        if self.remaining > limit:
            return False
        while self.remaining > 0:
            if not self.read(min(self.remaining, 65536)):
                return False
        return True


class _Response:
    """start_response/write for one request; keeps the connection's framing intact."""

    def __init__(self, handler: KeepAliveHandler, method: str) -> None:
        self.handler = handler
        self.method = method
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.sent = False
        self.chunked = False
        self.declared: int | None = None
        self.written = 0
        self.head = b""  # status line and headers not sent yet

    def start(self, status: str, headers: list[tuple[str, str]],
              exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response called twice without exc_info")
        self.status, self.headers = status, list(headers)
        return self.write

    def _send_headers(self) -> None:
        handler = self.handler
        assert self.status is not None, "write() before start_response"
        code_text, _, reason = self.status.partition(" ")
        code = int(code_text)
        handler.send_response(code, reason)
        names = set()
        for name, value in self.headers:
            lowered = name.lower()
            if lowered in ("connection", "transfer-encoding"):
                continue  # hop-by-hop: this server decides how the connection is framed
            if lowered == "content-length":
                self.declared = int(value)
            handler.send_header(name, value)
            names.add(lowered)
        bodiless = self.method == "HEAD" or 100 <= code < 200 or code in (204, 304)
        if bodiless:
            self.declared = None
        elif self.declared is None:
            if handler.request_version >= "HTTP/1.1":
                self.chunked = True
                handler.send_header("Transfer-Encoding", "chunked")
            else:
                handler.close_connection = True  # the end of the body is the end of the connection
        if handler.close_connection:
            handler.send_header("Connection", "close")
        # end_headers() without its flush: the head waits for the body's first write.
        buffered: list[bytes] = handler.__dict__.setdefault("_headers_buffer", [])
        buffered.append(b"\r\n")
        self.head = b"".join(buffered)
        buffered.clear()
        self.sent = True

    def write(self, data: bytes) -> None:
        if not self.sent:
            self._send_headers()
        if not data:
            return
        self.written += len(data)
        if self.chunked:
            data = b"%x\r\n" % len(data) + data + b"\r\n"
        self._send(data)

    def _send(self, data: bytes) -> None:
        out = self.handler.wfile
        head, self.head = self.head, b""
        if head and len(data) <= COALESCE_LIMIT:
            out.write(head + data)
            return
        if head:
            out.write(head)
        if data:
            out.write(data)

    def finish(self) -> None:
        if not self.sent:
            self._send_headers()
        self._send(b"0\r\n\r\n" if self.chunked else b"")
        if self.declared is not None and self.written != self.declared:
            self.handler.close_connection = True
        self.handler.wfile.flush()


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler (environ, error handling) with keep-alive connections."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S  # socket timeout: an idle kept-alive connection ends after this

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without NODELAY, Nagle's algorithm and
        # the client's delayed ACK hold the second one back for up to 40 ms per request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        try:
            self._run_one()
        finally:
            # A kept-alive connection waits for its next request, maybe for a minute: nothing
            # of this one may stay reachable meanwhile (werkzeug and moto hang the request, its
            # whole body among it, on the environ: tens of MB per idle connection).
            self.environ = {}

    def _run_one(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.make_environ()
        body: BoundedBody | None = None
        if environ.get("wsgi.input_terminated"):
            # A chunked request body (werkzeug de-chunks it): rare from AWS clients, and its
            # end (trailers) is not tracked exactly, so this connection serves no more requests.
            self.close_connection = True
        else:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length, self.close_connection = 0, True
            body = BoundedBody(self.rfile, length)
            environ["wsgi.input"] = io.BufferedReader(body, 65536)
        self.environ = environ
        response = _Response(self, environ["REQUEST_METHOD"])
        try:
            self._execute(environ, response)
        except (TimeoutError, ConnectionError) as error:
            self.close_connection = True
            self.connection_dropped(error, environ)
            return
        except Exception as error:  # the application failed: answer 500 if still possible
            self.close_connection = True
            if not response.sent:
                self._internal_error()
            self.server.log("error", f"Error on request {self.command} {self.path}: {error!r}")
            return
        if self.close_connection or body is None:
            return
        try:
            done = body.drain(DRAIN_LIMIT)
        except (ConnectionError, OSError):
            done = False
        if not done:
            self.close_connection = True

    def _execute(self, environ: dict[str, Any], response: _Response) -> None:
        app_iter: Iterable[bytes] = self.server.app(environ, response.start)
        try:
            for data in app_iter:
                response.write(data)
            response.finish()
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()

    def _internal_error(self) -> None:
        body = b"Internal Server Error"
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class KeepAliveServer(ThreadedWSGIServer):
    """The threaded werkzeug server that knows its open connections, to close them on stop."""

    def __init__(self, host: str, port: int, app: Any,
                 handler: type[KeepAliveHandler] = KeepAliveHandler) -> None:
        super().__init__(host, port, app, handler=handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every open connection now (idle ones wait in a read on their own thread)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

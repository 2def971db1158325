"""The emulator keeps HTTP/1.1 connections alive, and keeps them correctly framed."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest

from batchmagic.emulator import run_emulator
from batchmagic.emulator.server import HEALTH_PATH
from tests.helpers import client, unique, wait_for


def connect(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)


def health(connection: http.client.HTTPConnection, method: str = "GET",
           body: bytes | None = None) -> tuple[http.client.HTTPResponse, dict[str, object]]:
    connection.request(method, HEALTH_PATH, body=body)
    response = connection.getresponse()
    return response, json.loads(response.read())


def test_requests_share_one_connection(emulator_url: str) -> None:
    connection = connect(emulator_url)
    first, _ = health(connection)
    assert first.getheader("Connection") is None
    port = connection.sock.getsockname()[1]
    for _ in range(3):
        _, data = health(connection)
        assert data["status"] == "ok"
        assert connection.sock is not None and connection.sock.getsockname()[1] == port
    connection.close()


def test_a_body_the_application_does_not_read_is_skipped(emulator_url: str) -> None:
    # The health check ignores any body: the next request on the connection must still parse.
    connection = connect(emulator_url)
    response, data = health(connection, "POST", b"x" * 100_000)
    assert response.status == 200 and data["status"] == "ok"
    port = connection.sock.getsockname()[1]
    response, data = health(connection)
    assert data["status"] == "ok" and connection.sock.getsockname()[1] == port
    connection.close()


def test_errors_and_bodiless_answers_keep_the_connection_usable(emulator_url: str) -> None:
    s3 = client(emulator_url, "s3")
    bucket = unique("keepalive")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"abc", ACL="public-read")  # unsigned below
    connection = connect(emulator_url)
    port = None
    for method, path, status, body in [
        ("HEAD", f"/{bucket}/k", 200, b""),          # Content-Length 3, no body
        ("GET", f"/{bucket}/missing", 404, None),    # an error document
        ("GET", f"/{bucket}/k", 200, b"abc"),
        ("HEAD", f"/{bucket}/missing", 404, b""),
    ]:
        connection.request(method, path)
        response = connection.getresponse()
        data = response.read()
        assert response.status == status, (method, path, data)
        if body is not None:
            assert data == body
        port = port or connection.sock.getsockname()[1]
        assert connection.sock.getsockname()[1] == port
    connection.close()


def test_http_1_0_clients_get_the_connection_closed(emulator_url: str) -> None:
    parts = urlsplit(emulator_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"GET {HEALTH_PATH} HTTP/1.0\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0]
    assert json.loads(body)["status"] == "ok"


def test_boto3_reuses_pooled_connections(emulator_url: str) -> None:
    # Many calls from one client: the server sees as many connections as the pool opened
    # (one here, calls are sequential), not one per call.
    s3 = client(emulator_url, "s3")
    bucket = unique("pool")
    s3.create_bucket(Bucket=bucket)
    opened = []
    original = socket.socket.connect

    def counting_connect(self: socket.socket, address: object) -> None:
        opened.append(address)
        original(self, address)

    socket.socket.connect = counting_connect  # type: ignore[method-assign]
    try:
        for i in range(20):
            s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x" * 4096)
    finally:
        socket.socket.connect = original  # type: ignore[method-assign]
    assert len(opened) <= 1, opened


def test_stopping_the_emulator_closes_idle_connections() -> None:
    with run_emulator() as url:
        connection = connect(url)
        health(connection)
        sock = connection.sock
    # The server is gone: the kept-alive connection was closed, not left to a stray thread.
    sock.settimeout(5)
    assert sock.recv(1) == b""
    connection.close()


def test_a_small_answer_goes_out_in_one_write(emulator_url: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Status line, headers and a small body in one send: half the system calls per object.
    import socketserver

    s3 = client(emulator_url, "s3")
    bucket = unique("onewrite")
    s3.create_bucket(Bucket=bucket)
    body = b"small object " * 100
    s3.put_object(Bucket=bucket, Key="k", Body=body)
    writes: list[bytes] = []
    write = socketserver._SocketWriter.write

    def recorded(self: Any, data: Any) -> int:
        writes.append(bytes(data))
        return int(write(self, data))

    monkeypatch.setattr(socketserver._SocketWriter, "write", recorded)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body
    monkeypatch.undo()
    answers = [data for data in writes if data.startswith(b"HTTP/1.1 200")]
    assert len(answers) == 1 and answers[0].endswith(b"\r\n\r\n" + body), writes


def test_an_idle_connection_keeps_nothing_of_its_last_request() -> None:
    # werkzeug and moto hang the request (its whole body among it) on the environ; a kept-alive
    # connection waiting for its next request must not keep that reachable.
    import gc
    import threading
    import weakref

    from batchmagic.emulator.http11 import KeepAliveServer

    class Parsed:
        """Stands for the parsed request an application leaves on the environ."""

    seen: list[weakref.ref[Parsed]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        parsed = Parsed()
        environ["app.request"] = parsed
        seen.append(weakref.ref(parsed))
        environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    server = KeepAliveServer("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.request("PUT", "/big", body=b"x" * 1_000_000)
        response = connection.getresponse()
        assert response.read() == b"ok" and seen

        def released() -> bool:  # the handler finishes just after the answer is sent
            gc.collect()
            return seen[0]() is None

        assert wait_for(released, timeout=5)  # while the connection is still open, waiting
        connection.close()
    finally:
        server.shutdown()
        server.server_close()
        server.close_connections()

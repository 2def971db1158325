"""Live tails on AWS: the StartLiveTail host prefix, the caller's partition in log group ARNs,
and a session that cannot open never holding up the status polls."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from batchmagic.aws.clients import AwsClients, AwsTarget, partition_of
from batchmagic.aws.livetail import LiveTails, log_group_arn
from batchmagic.aws.logs import LogLine
from tests.helpers import unique, wait_for


class _Sent(Exception):
    """Raised by the before-send hook once the request is captured (nothing leaves the host)."""


def _streaming_request(clients: AwsClients) -> Any:
    seen: list[Any] = []

    def capture(request: Any, **_: Any) -> None:
        seen.append(request)
        raise _Sent

    clients.logs_streaming.meta.events.register("before-send.cloudwatch-logs.StartLiveTail",
                                                capture)
    with pytest.raises(_Sent):
        clients.logs_streaming.start_live_tail(
            logGroupIdentifiers=["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/batch/job"])
    return seen[0]


def test_aws_endpoints_keep_the_streaming_host_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    request = _streaming_request(AwsClients(AwsTarget(region="eu-west-1")))
    host = request.url.split("/")[2]
    assert host.startswith("stream") and host.endswith("logs.eu-west-1.amazonaws.com"), host


def test_a_custom_endpoint_drops_the_host_prefix(target: AwsTarget) -> None:
    request = _streaming_request(AwsClients(target))
    assert request.url.startswith(f"{target.endpoint_url}/")


@pytest.mark.parametrize(("arn", "partition"), [
    ("arn:aws:sts::123456789012:assumed-role/r/s", "aws"),
    ("arn:aws-cn:sts::123456789012:user/u", "aws-cn"),
    ("arn:aws-us-gov:iam::123456789012:user/u", "aws-us-gov"),
    ("not an arn", "aws"),
])
def test_partition_comes_from_the_callers_arn(arn: str, partition: str) -> None:
    assert partition_of(arn) == partition
    assert log_group_arn(partition, "r-1", "1", "/g") == f"arn:{partition}:logs:r-1:1:log-group:/g"


def test_live_tails_name_the_log_group_in_the_callers_partition(emulator_url: str) -> None:
    clients = AwsClients(AwsTarget(region="cn-north-1", endpoint_url=emulator_url, emulator=True))
    group, stream = unique("/test/partition"), "s"
    clients.logs.create_log_group(logGroupName=group)
    clients.logs.create_log_stream(logGroupName=group, logStreamName=stream)
    sent: list[dict[str, Any]] = []
    clients.logs_streaming.meta.events.register(
        "before-send.cloudwatch-logs.StartLiveTail",
        lambda request, **_: sent.append(json.loads(request.body)))
    tails = LiveTails(clients, group, lambda _s, _l: None)
    tails.follow([stream])
    wait_for(lambda: sent)
    tails.close()
    assert sent[0]["logGroupIdentifiers"] == [
        f"arn:aws-cn:logs:cn-north-1:123456789012:log-group:{group}"]


@pytest.fixture()
def silent_server() -> Iterator[tuple[str, threading.Event]]:
    """An endpoint that accepts connections and answers nothing until ``release`` is set,
    then drops them (a proxy that swallows streaming calls)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    release = threading.Event()

    def serve() -> None:
        connection, _ = server.accept()
        release.wait(30)
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", release
    release.set()
    server.close()


def test_a_session_that_cannot_open_never_blocks_and_polling_takes_over(
        clients: AwsClients, silent_server: tuple[str, threading.Event]) -> None:
    url, release = silent_server
    group, stream = unique("/test/silent"), "s"
    clients.logs.create_log_group(logGroupName=group)
    clients.logs.create_log_stream(logGroupName=group, logStreamName=stream)
    clients.logs.put_log_events(logGroupName=group, logStreamName=stream,
                                logEvents=[{"timestamp": int(time.time() * 1000),
                                            "message": "first"}])
    silent = AwsClients(AwsTarget(region="us-east-1", endpoint_url=url, emulator=True))
    lines: list[str] = []
    failures: list[BaseException] = []

    def on_lines(_stream: str, batch: list[LogLine]) -> None:
        lines.extend(line.message for line in batch)

    tails = LiveTails(clients, group, on_lines, failures.append,
                      client=silent.logs_streaming)
    tails.follow([stream])  # returns while the endpoint has not answered at all
    assert not release.is_set() and tails.failed is None
    wait_for(lambda: lines == ["first"], timeout=10)  # the reads do not wait for the session
    assert not release.is_set() and tails.failed is None
    release.set()  # the endpoint drops the connection: the session fails, polling takes over
    wait_for(lambda: failures)
    assert tails.failed is failures[0]

"""CloudWatch Logs StartLiveTail: events streamed over HTTP as AWS event-stream messages."""

from __future__ import annotations

import io
import json
import queue
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError, EventStreamError

from batchmagic.emulator import run_emulator
from batchmagic.emulator.eventstream import encode_message
from batchmagic.emulator.livetail import MAX_DURATION_ENV, STATUS_PATH, LiveTailApi
from batchmagic.emulator.livetail_request import FilterPattern
from batchmagic.emulator.logsink import LogSink
from tests.helpers import REGION, client, single_definition, unique, wait_for, wait_job

ACCOUNT = "123456789012"


def tail_client(url: str, **config: Any) -> Any:
    """A logs client for StartLiveTail: its `stream-` host prefix must not be prepended."""
    return boto3.client("logs", endpoint_url=url, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(inject_host_prefix=False, **config))


def group_arn(name: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"


def put(logs: Any, group: str, stream: str, *messages: str) -> None:
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": now, "message": m} for m in messages])


def make_group(logs: Any, *streams: str) -> str:
    group = unique("/test/live")
    logs.create_log_group(logGroupName=group)
    for stream in streams:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    return group


def status(url: str) -> dict[str, int]:
    with urllib.request.urlopen(url + STATUS_PATH, timeout=5) as response:
        result: dict[str, int] = json.loads(response.read())
    return result


class Tail:
    """A live tail session read by a background thread; events wait in a queue."""

    def __init__(self, tail: Any, **params: Any) -> None:
        self.stream = tail.start_live_tail(**params)["responseStream"]
        self.events: queue.Queue[dict[str, Any] | BaseException | None] = queue.Queue()
        self.start: dict[str, Any] = {}
        self.ended = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for event in self.stream:
                self.events.put(event)
            self.events.put(None)
        except BaseException as e:  # handed over to the test
            self.events.put(e)
        finally:
            self.ended.set()

    def next_event(self, timeout: float = 5.0) -> dict[str, Any] | BaseException | None:
        return self.events.get(timeout=timeout)

    def results_until(self, done: Callable[[list[dict[str, Any]]], bool],
                      timeout: float = 10.0) -> list[dict[str, Any]]:
        """Log events received (sessionStart kept in .start) until `done` holds."""
        results: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while not done(results):
            event = self.next_event(max(deadline - time.monotonic(), 0.01))
            if event is None or isinstance(event, BaseException):
                raise AssertionError(f"stream ended: {event!r}")
            if "sessionStart" in event:
                self.start = event["sessionStart"]
            else:
                assert event["sessionUpdate"]["sessionMetadata"] == {"sampled": False}
                results.extend(event["sessionUpdate"]["sessionResults"])
        return results

    def wait_started(self) -> None:
        assert self.results_until(lambda _: bool(self.start), 5) == []

    def close(self) -> None:
        """Close the response: blocks until the reader thread's read returns (the next
        event, at most a heartbeat away)."""
        self.stream.close()


@pytest.fixture(scope="module")
def tail(emulator_url: str) -> Any:
    return tail_client(emulator_url)


def messages(results: list[dict[str, Any]]) -> list[str]:
    return [r["message"] for r in results]


def test_botocore_prepends_the_host_prefix_unless_told_not_to(emulator_url: str) -> None:
    urls = []

    def capture(request: Any, **_: Any) -> None:
        urls.append(request.url)
        raise RuntimeError("captured")

    for logs in (client(emulator_url, "logs"), tail_client(emulator_url)):
        logs.meta.events.register("before-send.logs.StartLiveTail", capture)
        with pytest.raises(RuntimeError, match="captured"):
            logs.start_live_tail(logGroupIdentifiers=["g"])
    host = emulator_url.split("//", 1)[1]
    assert urls == [f"http://stream-{host}/", f"{emulator_url}/"]


def test_lines_written_after_the_start_arrive_within_a_fraction_of_a_second(
        logs: Any, tail: Any) -> None:
    group = make_group(logs, "s1")
    put(logs, group, "s1", "before the session")
    session = Tail(tail, logGroupIdentifiers=[group_arn(group)])
    try:
        session.wait_started()
        assert session.start["logGroupIdentifiers"] == [group_arn(group)]
        assert session.start["logEventFilterPattern"] == ""
        assert session.start["requestId"] and session.start["sessionId"]
        latencies = []
        for i in range(3):
            sent = time.monotonic()
            put(logs, group, "s1", f"line {i}")
            [event] = session.results_until(lambda r: bool(r), 2)
            latencies.append(time.monotonic() - sent)
            assert event["message"] == f"line {i}"
            assert event["logStreamName"] == "s1"
            assert event["logGroupIdentifier"] == group_arn(group)
            assert isinstance(event["timestamp"], int)
            assert event["ingestionTime"] >= event["timestamp"] - 1000
        assert max(latencies) < 0.5, latencies
        put(logs, group, "s1", "a", "b", "c")
        assert messages(session.results_until(lambda r: len(r) >= 3, 2)) == ["a", "b", "c"]
    finally:
        session.close()


def test_a_batch_jobs_output_streams_live(batch: Any, logs: Any, queue: str,
                                          tail: Any) -> None:
    try:
        logs.create_log_group(logGroupName="/aws/batch/job")
    except ClientError as e:  # another test's job created it already
        assert e.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    script = ("import time\nfor i in range(3):\n    print(f'tick {i}', flush=True)\n"
              "    time.sleep(0.3)\n")
    definition = single_definition(batch, ["python", "-c", script])
    # The stream (<definition>/default/<task id>) does not exist yet: a prefix finds it.
    session = Tail(tail, logGroupIdentifiers=["/aws/batch/job"],
                   logStreamNamePrefixes=[f"{definition}/"])
    try:
        session.wait_started()
        job_id = batch.submit_job(jobName=unique("live"), jobQueue=queue,
                                  jobDefinition=definition)["jobId"]
        results = session.results_until(lambda r: len(r) >= 1, 10)
        assert wait_job(batch, job_id, ("RUNNING", "SUCCEEDED"))["status"] == "RUNNING"
        results += session.results_until(lambda r: len(r) >= 3 - len(results), 10)
        assert messages(results) == ["tick 0", "tick 1", "tick 2"]
        job = wait_job(batch, job_id)
        assert {r["logStreamName"] for r in results} == {job["container"]["logStreamName"]}
    finally:
        session.close()


def test_stream_names_prefixes_and_filter_patterns_select_events(logs: Any, tail: Any) -> None:
    group = make_group(logs, "app/1", "app/2", "other/1")
    by_name = Tail(tail, logGroupIdentifiers=[group], logStreamNames=["app/1"])
    by_prefix = Tail(tail, logGroupIdentifiers=[group], logStreamNamePrefixes=["app/"])
    by_term = Tail(tail, logGroupIdentifiers=[group], logEventFilterPattern="ERROR -ignored")
    sessions = (by_name, by_prefix, by_term)
    try:
        for session in sessions:
            session.wait_started()
        assert by_name.start["logStreamNames"] == ["app/1"]
        assert by_prefix.start["logStreamNamePrefixes"] == ["app/"]
        assert by_term.start["logEventFilterPattern"] == "ERROR -ignored"
        put(logs, group, "other/1", "other: ERROR x", "other: ERROR ignored")
        put(logs, group, "app/2", "app2: hello")
        put(logs, group, "app/1", "app1: ERROR last")

        def has_last(results: list[dict[str, Any]]) -> bool:
            return "app1: ERROR last" in messages(results)

        # Order across streams is by ingestion time: compare sorted.
        assert messages(by_name.results_until(has_last)) == ["app1: ERROR last"]
        assert sorted(messages(by_prefix.results_until(has_last))) == ["app1: ERROR last",
                                                                       "app2: hello"]
        assert sorted(messages(by_term.results_until(has_last))) == ["app1: ERROR last",
                                                                     "other: ERROR x"]
    finally:
        for session in sessions:
            session.close()


def test_filter_pattern_terms() -> None:
    assert FilterPattern("").matches("anything")
    assert FilterPattern("ERROR 404").matches("ERROR: GET /x 404")
    assert not FilterPattern("ERROR 404").matches("ERROR: GET /x 500")
    assert not FilterPattern("error").matches("ERROR")  # case-sensitive, as AWS
    assert FilterPattern('"disk full"').matches("warn: disk full now")
    assert not FilterPattern('"disk full"').matches("full disk")
    assert FilterPattern("?WARN ?ERROR").matches("a WARN b")
    assert not FilterPattern("?WARN ?ERROR").matches("INFO")
    assert not FilterPattern("ERROR -retry").matches("ERROR will retry")


def test_bad_parameters_get_aws_errors(emulator_url: str, logs: Any, tail: Any) -> None:
    group = make_group(logs)
    unvalidated = tail_client(emulator_url, parameter_validation=False)
    cases: list[tuple[Any, dict[str, Any], str]] = [
        (tail, {"logGroupIdentifiers": [group], "logStreamNames": ["a"],
                "logStreamNamePrefixes": ["b"]}, "InvalidParameterException"),
        (tail, {"logGroupIdentifiers": [group, group], "logStreamNames": ["a"]},
         "InvalidParameterException"),
        (tail, {"logGroupIdentifiers": [group_arn(group) + ":*"]}, "InvalidParameterException"),
        (tail, {"logGroupIdentifiers": [group], "logEventFilterPattern": '{ $.level = "x" }'},
         "InvalidParameterException"),
        (tail, {"logGroupIdentifiers": [unique("/no/such/group")]}, "ResourceNotFoundException"),
        (tail, {"logGroupIdentifiers": [group_arn(unique("/no/such"))]},
         "ResourceNotFoundException"),
        (unvalidated, {"logGroupIdentifiers": []}, "InvalidParameterException"),
        (unvalidated, {"logGroupIdentifiers": [group] * 11}, "InvalidParameterException"),
        (unvalidated, {}, "InvalidParameterException"),
    ]
    for logs_client, params, code in cases:
        with pytest.raises(ClientError) as caught:
            logs_client.start_live_tail(**params)
        assert caught.value.response["Error"]["Code"] == code, params
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_closing_the_stream_ends_the_server_side_session(emulator_url: str, logs: Any,
                                                         tail: Any) -> None:
    group = make_group(logs)
    # Earlier tests' sessions end a moment after their close() returns.
    wait_for(lambda: status(emulator_url)["activeSessions"] == 0, timeout=3)
    started = status(emulator_url)["sessionsStarted"]
    session = Tail(tail, logGroupIdentifiers=[group])
    session.wait_started()
    assert status(emulator_url) == {"activeSessions": 1, "sessionsStarted": started + 1}
    session.close()
    wait_for(lambda: status(emulator_url)["activeSessions"] == 0, timeout=3)


def test_the_emulator_stops_promptly_with_a_session_open() -> None:
    with run_emulator() as url:
        logs = client(url, "logs")
        group = make_group(logs)
        session = Tail(tail_client(url), logGroupIdentifiers=[group])
        session.wait_started()
        assert status(url)["activeSessions"] == 1
        started = time.monotonic()
    assert time.monotonic() - started < 2.0
    assert session.ended.wait(2.0)  # the client sees the stream end
    assert session.next_event(1) is None


def test_a_session_ends_with_a_timeout_exception_after_its_maximum_duration(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_DURATION_ENV, "0.3")
    with run_emulator() as url:
        group = make_group(client(url, "logs"))
        session = Tail(tail_client(url), logGroupIdentifiers=[group])
        session.wait_started()
        started = time.monotonic()
        error = session.next_event(5)
        while isinstance(error, dict):  # heartbeats, if any
            error = session.next_event(5)
        assert isinstance(error, EventStreamError), error
        assert error.response["Error"]["Code"] == "SessionTimeoutException"
        assert time.monotonic() - started < 2.0
        wait_for(lambda: status(url)["activeSessions"] == 0, timeout=2)


def _frames(chunks: Iterator[bytes]) -> list[Any]:
    buffer = EventStreamBuffer()
    for chunk in chunks:
        buffer.add_data(chunk)
    return list(buffer)


def test_event_stream_framing_parses_with_botocore() -> None:
    message = encode_message({":message-type": "event", ":event-type": "x"}, b'{"a": 1}')
    [parsed] = _frames(iter([message[:5], message[5:]]))
    assert parsed.headers == {":message-type": "event", ":event-type": "x"}
    assert parsed.payload == b'{"a": 1}'


def test_heartbeats_without_events_and_wsgi_close_ends_the_session() -> None:
    group = unique("/test/wsgi")
    LogSink(REGION).open_stream(group, "s")
    api = LiveTailApi(poll_interval_s=0.01, heartbeat_s=0.05)
    body = json.dumps({"logGroupIdentifiers": [group]}).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_LENGTH": str(len(body)),
               "HTTP_X_AMZ_TARGET": "Logs_20140328.StartLiveTail",
               "wsgi.input": io.BytesIO(body)}
    statuses: list[str] = []
    response = api(environ, lambda status, headers: statuses.append(status))
    assert statuses == ["200 OK"]
    chunks = iter(response)
    frames = _frames(next(chunks) for _ in range(4))
    types = [f.headers[":event-type"] for f in frames]
    assert types == ["initial-response", "sessionStart", "sessionUpdate", "sessionUpdate"]
    assert json.loads(frames[2].payload) == {"sessionMetadata": {"sampled": False},
                                             "sessionResults": []}
    assert api.active_sessions == 1
    response.close()  # what the server does when a write to the client fails
    assert api.active_sessions == 0

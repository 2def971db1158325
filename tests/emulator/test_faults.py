"""Fault injection: each protocol's own throttle and server-error shapes, resets, faults after
the request was carried out, seeds, and the jobs' own traffic spared - all over HTTP."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from batchmagic.emulator import run_emulator
from batchmagic.emulator.faults import JOB_ACCESS_KEY, FaultSpec, FaultSpecError
from tests.helpers import REGION, client, unique

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def raw_client(url: str, service: str, key: str = "test") -> Any:
    return boto3.client(service, endpoint_url=url, region_name=REGION, config=NO_RETRIES,
                        aws_access_key_id=key, aws_secret_access_key="test")


def test_spec_parses_the_documented_form() -> None:
    spec = FaultSpec.parse("latency=150ms±50,throttle=0.2,error=0.05,reset=0.02,after=0.5,seed=7")
    assert (spec.latency_s, spec.jitter_s) == (0.15, 0.05)
    assert (spec.throttle, spec.error, spec.reset, spec.after, spec.seed) == (
        0.2, 0.05, 0.02, 0.5, 7)
    assert FaultSpec.parse("latency=0.2s+-100ms").jitter_s == 0.1
    assert FaultSpec.parse(spec.describe()) == spec


@pytest.mark.parametrize(("text", "words"), [
    ("latency=fast", "latency 'fast'"),
    ("throttle=1.5", "between 0 and 1"),
    ("errors=0.1", "unknown fault 'errors'"),
    ("throttle", "not NAME=VALUE"),
    ("seed=x", "not an integer"),
    ("throttle=0.6,error=0.6", "must not exceed 1"),
])
def test_bad_spec_names_the_part(text: str, words: str) -> None:
    with pytest.raises(FaultSpecError, match=words):
        FaultSpec.parse(text)


@pytest.mark.parametrize(("service", "call", "code", "status"), [
    ("s3", lambda c: c.list_buckets(), "SlowDown", 503),
    ("batch", lambda c: c.describe_job_queues(), "TooManyRequestsException", 429),
    ("logs", lambda c: c.describe_log_groups(), "ThrottlingException", 400),
    ("sts", lambda c: c.get_caller_identity(), "Throttling", 400),
    ("ec2", lambda c: c.describe_vpcs(), "RequestLimitExceeded", 503),
])
def test_throttles_in_each_protocols_shape(service: str, call: Any, code: str,
                                           status: int) -> None:
    with run_emulator(faults="throttle=1") as url, pytest.raises(ClientError) as caught:
        call(raw_client(url, service))
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


@pytest.mark.parametrize(("service", "call", "code"), [
    ("s3", lambda c: c.list_buckets(), "InternalError"),
    ("batch", lambda c: c.describe_job_queues(), "ServerException"),
    ("logs", lambda c: c.describe_log_groups(), "ServiceUnavailableException"),
])
def test_server_errors_in_each_protocols_shape(service: str, call: Any, code: str) -> None:
    with run_emulator(faults="error=1") as url, pytest.raises(ClientError) as caught:
        call(raw_client(url, service))
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_reset_closes_the_connection_without_an_answer() -> None:
    resets = (ConnectionClosedError, EndpointConnectionError)
    with run_emulator(faults="reset=1") as url, pytest.raises(resets):
        raw_client(url, "s3").list_buckets()


def test_errors_after_the_request_was_carried_out(emulator_url: str) -> None:
    bucket = unique("faults")
    client(emulator_url, "s3").create_bucket(Bucket=bucket)
    with run_emulator(faults="error=1,after=1") as url, pytest.raises(ClientError):
        raw_client(url, "s3").put_object(Bucket=bucket, Key="k", Body=b"written")
    # moto's state is shared by the emulators of one process: look from the healthy one.
    body = client(emulator_url, "s3").get_object(Bucket=bucket, Key="k")["Body"].read()
    assert body == b"written"


def test_faults_before_the_request_are_not_carried_out(emulator_url: str) -> None:
    bucket = unique("faults")
    s3 = client(emulator_url, "s3")
    s3.create_bucket(Bucket=bucket)
    with run_emulator(faults="error=1,after=0") as url, pytest.raises(ClientError):
        raw_client(url, "s3").put_object(Bucket=bucket, Key="k", Body=b"never")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def outcomes(url: str, calls: int) -> list[str]:
    s3 = raw_client(url, "s3")
    seen = []
    for _ in range(calls):
        try:
            s3.list_buckets()
            seen.append("ok")
        except ClientError as error:
            seen.append(error.response["Error"]["Code"])
    return seen


def test_a_seed_reproduces_the_same_faults() -> None:
    spec = "throttle=0.3,error=0.2,seed=11"
    with run_emulator(faults=spec) as url:
        first = outcomes(url, 40)
    with run_emulator(faults=spec) as url:
        second = outcomes(url, 40)
    with run_emulator(faults="throttle=0.3,error=0.2,seed=12") as url:
        other = outcomes(url, 40)
    assert first == second
    assert {"ok", "SlowDown", "InternalError"} <= set(first)
    assert other != first


def test_retrying_clients_get_through_and_latency_is_added() -> None:
    with run_emulator(faults="latency=100ms±20,throttle=0.2,error=0.05,reset=0.05,after=0.5,"
                             "seed=5") as url:
        s3 = boto3.client("s3", endpoint_url=url, region_name=REGION,
                          aws_access_key_id="test", aws_secret_access_key="test",
                          config=Config(retries={"total_max_attempts": 12, "mode": "standard"}))
        started = time.monotonic()
        s3.list_buckets()
        assert time.monotonic() - started >= 0.08
        bucket = unique("faults")
        s3.create_bucket(Bucket=bucket)
        for i in range(6):
            s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x" * 1000)
        assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 6


def test_the_jobs_own_traffic_is_spared_unless_asked() -> None:
    with run_emulator(faults="throttle=1") as url:
        raw_client(url, "s3", key=JOB_ACCESS_KEY).list_buckets()
    with (run_emulator(faults="throttle=1,jobs=1") as url,
          pytest.raises(ClientError, match="SlowDown")):
        raw_client(url, "s3", key=JOB_ACCESS_KEY).list_buckets()


def test_cli_refuses_a_bad_spec_in_one_line() -> None:
    done = subprocess.run([sys.executable, "-m", "batchmagic", "emulator", "--port", "0",
                           "--faults", "throttle=2"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert done.stdout.strip().splitlines() == [
        "batchmagic emulator: --faults: throttle=2 must be between 0 and 1"]

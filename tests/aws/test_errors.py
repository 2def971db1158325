"""AWS errors are classified where they enter: the right kind, raised from botocore's error,
keeping its code, the call, and whether trying again may succeed."""

from __future__ import annotations

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.errors import THROTTLING_CODES, TRANSIENT_CODES, aws_errors, classify
from batchmagic.aws.staging import check_bucket, list_objects
from batchmagic.errors import AwsError, ConfigurationError, StagingError


def _client_error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "DescribeJobs")


def test_the_retry_classes_are_botocores() -> None:
    # Copies of botocore's lists (private attributes): a new botocore code shows up here.
    assert set(ThrottledRetryableChecker._THROTTLED_ERROR_CODES) <= THROTTLING_CODES
    assert set(TransientRetryableChecker._TRANSIENT_ERROR_CODES) <= TRANSIENT_CODES


@pytest.mark.parametrize(("code", "status", "throttled", "transient"), [
    ("ThrottlingException", 400, True, True),
    ("SlowDown", 503, True, True),
    ("TooManyRequestsException", 429, True, True),
    ("ServerException", 500, False, True),
    ("InternalError", 502, False, True),
    ("AccessDeniedException", 403, False, False),
    ("ClientException", 400, False, False),
])
def test_a_client_error_keeps_its_code_and_retry_class(
        code: str, status: int, throttled: bool, transient: bool) -> None:
    original = _client_error(code, status)
    with pytest.raises(AwsError) as raised, aws_errors("DescribeJobs 1234"):
        raise original
    error = raised.value
    assert (error.code, error.operation) == (code, "DescribeJobs 1234")
    assert (error.throttled, error.transient) == (throttled, transient)
    assert error.__cause__ is original
    assert str(error).startswith(f"DescribeJobs 1234 failed: m ({code})")


def test_an_unreachable_endpoint_is_transient(clients: AwsClients) -> None:
    dead = clients.session.client("batch", endpoint_url="http://127.0.0.1:9",
                                  config=Config(retries={"max_attempts": 1}, connect_timeout=2))
    with pytest.raises(AwsError) as raised, aws_errors("DescribeJobs"):
        dead.describe_jobs(jobs=["x"])
    assert raised.value.code == "EndpointConnectionError"
    assert raised.value.transient and not raised.value.throttled
    assert isinstance(raised.value.__cause__, EndpointConnectionError)


def test_the_caller_names_the_kind(clients: AwsClients) -> None:
    with pytest.raises(StagingError) as raised:
        list_objects(clients, "no-such-bucket-for-errors", "prefix/")
    assert raised.value.code == "NoSuchBucket"
    assert raised.value.operation == "ListObjectsV2 s3://no-such-bucket-for-errors/prefix/"
    assert isinstance(raised.value.__cause__, ClientError)


def test_a_known_meaning_rephrases_but_keeps_the_code(clients: AwsClients) -> None:
    with pytest.raises(ConfigurationError, match="does not exist") as raised:
        check_bucket(clients, "no-such-bucket-for-errors")
    assert raised.value.code == "404"
    assert isinstance(raised.value.__cause__, StagingError)
    assert isinstance(raised.value.__cause__.__cause__, ClientError)


def test_errors_without_a_response_are_named_by_their_class() -> None:
    error = classify(EndpointConnectionError(endpoint_url="http://x"), "GetLogEvents g:s")
    assert isinstance(error, AwsError)
    assert error.code == "EndpointConnectionError"
    assert str(error) == ("GetLogEvents g:s failed: Could not connect to the endpoint URL: "
                          '"http://x"')

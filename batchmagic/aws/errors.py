"""AWS errors, classified once, where they enter batchmagic, and kept.

Every boto3 call runs inside :func:`aws_errors` (or is passed to :func:`classify` when the error
arrives another way, e.g. from an s3transfer future). A botocore ``ClientError`` or
``BotoCoreError`` leaves it as the ``BatchMagicError`` subclass the caller names (``AwsError``
unless said otherwise), raised ``from`` the original and carrying:

- ``code``: AWS's error code (``AccessDenied``; ``404`` for S3's bodiless HEAD answers), or the
  botocore exception's class name when no response came (``EndpointConnectionError``);
- ``operation``: the call, as the message names it (``DescribeJobs 1234``, ``iam:CreateRole``);
- ``throttled`` and ``transient``: whether trying again later may succeed, as botocore's own
  retry checkers decide it (``botocore/retries/standard.py``: ``ThrottledRetryableChecker``,
  ``TransientRetryableChecker``; the same lists, tested to agree).

The message is one line for a person: the call, AWS's reason and code, and the usual fix.

Retries. Clients already retry every call (``AwsClients``: botocore's adaptive mode, 8 attempts,
with client-side rate limiting), so an error that arrives here has outlasted them. Only a loop
that outlives one call retries on top of that: following a job for hours must not end because
DescribeJobs was throttled for a minute (``BatchJob.wait``: 5 more failures in a row), and the
log poller keeps polling a throttled stream after a pause. Everything else raises at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar, overload

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from batchmagic.errors import AwsError, BatchMagicError

AWS_EXCEPTIONS = (ClientError, BotoCoreError)
"""What a boto3 call raises when AWS (or the way to it) fails."""

# botocore/retries/standard.py, ThrottledRetryableChecker._THROTTLED_ERROR_CODES.
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException",
})

# botocore/retries/standard.py, TransientRetryableChecker._TRANSIENT_ERROR_CODES, plus the
# server-side failures Batch and CloudWatch Logs report by code (their HTTP status is 5xx too).
TRANSIENT_CODES = frozenset({
    "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
    "ServerException", "ServiceUnavailable", "InternalFailure",
})

# A response status of 5xx (botocore: 500, 502, 503, 504) or no response at all (botocore:
# ConnectionError, HTTPClientError; IncompleteReadError is a body cut short).
TRANSIENT_EXCEPTIONS = (BotoConnectionError, HTTPClientError, IncompleteReadError)

ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException",
                                 "UnauthorizedOperation"})
"""The caller may not make this call (IAM: AccessDenied; Logs, Batch: ...Exception; EC2)."""

UNSUPPORTED_CODES = frozenset({"UnknownOperationException", "InvalidAction",
                               "UnrecognizedClientException"})
"""The endpoint does not offer this call (or does not know these credentials)."""

_PASS_ROLE = "allow iam:PassRole on the execution and task roles for these credentials"
_ADMIN = "needs IAM admin rights, or ask an admin to run `batchmagic setup`"
_ADMIN_CALLS = ("iam:", "batch:Create", "batch:Update", "batch:Delete", "ec2:Create")

# (error code, operation prefix, fix): the first match wins. Provisioning calls are named
# "service:Action" (setup and teardown meet a few errors runs never do); "" matches any call.
_FIXES: tuple[tuple[str, str, str], ...] = (
    ("AccessDenied", "iam:", _ADMIN),
    ("AccessDeniedException", "batch:Create", "needs batch:CreateComputeEnvironment and "
     "batch:CreateJobQueue rights, or ask an admin to run `batchmagic setup`"),
    ("AccessDenied", "s3:CreateBucket", "needs s3:CreateBucket rights, or pass --bucket with an "
     "existing bucket"),
    ("UnauthorizedOperation", "ec2:", "needs ec2:Describe*/CreateSecurityGroup rights, or ask an "
     "admin to run `batchmagic setup`"),
    ("BucketAlreadyExists", "", "bucket names are global and this one belongs to someone else: "
     "choose another with --bucket"),
    ("DependencyViolation", "ec2:DeleteSecurityGroup", "AWS still holds network interfaces of "
     "finished jobs in it: run `batchmagic teardown` again in a few minutes"),
    ("LimitExceeded", "iam:", "the account's IAM quota is reached: remove unused roles"),
    ("DeleteConflict", "iam:", "detach what still uses it, then run teardown again"),
)

# One fix per error code users really meet, whatever the call.
_GENERIC_FIXES = {
    "AccessDenied": "check the IAM permissions of the credentials in use",
    "AccessDeniedException": "check the IAM permissions of the credentials in use",
    "UnrecognizedClientException": "the credentials are not valid for this account or region",
    "InvalidClientTokenId": "the access key is unknown: check AWS_PROFILE / the credentials file",
    "ExpiredToken": "the session token expired: log in again (e.g. `aws sso login`)",
    "ExpiredTokenException": "the session token expired: log in again (e.g. `aws sso login`)",
    "NoSuchBucket": "create the bucket or fix --bucket (`batchmagic setup` creates one)",
    "ThrottlingException": "AWS is throttling requests: retry in a moment",
    "TooManyRequestsException": "AWS is throttling requests: retry in a moment",
}

_NO_CREDENTIALS = ("no AWS credentials found. Configure a profile (`aws configure`, --profile), "
                   "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or use --local to run on the "
                   "embedded emulator.")

E = TypeVar("E", bound=BatchMagicError)


def error_code(error: BaseException) -> str:
    """AWS's error code of a ClientError, the class name of a BotoCoreError, else ''."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    if isinstance(error, NoCredentialsError):
        return "NoCredentials"
    if isinstance(error, BotoCoreError):
        return type(error).__name__
    return ""


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def is_throttled(error: BaseException) -> bool:
    """AWS asked us to slow down (botocore's ThrottledRetryableChecker, and HTTP 429)."""
    return isinstance(error, ClientError) and (error_code(error) in THROTTLING_CODES
                                               or _status(error) == 429)


def is_transient(error: BaseException) -> bool:
    """The same call may succeed later: throttling, a 5xx, a connection that failed or broke."""
    if isinstance(error, ClientError):
        return (is_throttled(error) or error_code(error) in TRANSIENT_CODES
                or _status(error) >= 500)
    return isinstance(error, TRANSIENT_EXCEPTIONS)


def fix_for(code: str, operation: str, reason: str = "") -> str | None:
    """The usual fix for ``code`` raised by ``operation``, if there is one."""
    if "iam:PassRole" in reason:
        return _PASS_ROLE
    for fix_code, prefix, fix in _FIXES:
        if code == fix_code and operation.startswith(prefix):
            return fix
    if code in ACCESS_DENIED_CODES and operation.startswith(_ADMIN_CALLS):
        return _ADMIN
    return _GENERIC_FIXES.get(code)


def describe(error: BaseException, operation: str) -> str:
    """One line: the call, AWS's reason and code, and the usual fix."""
    if isinstance(error, NoCredentialsError):
        return f"{operation}: {_NO_CREDENTIALS}"
    if isinstance(error, ClientError):
        code = error_code(error)
        reason = error.response.get("Error", {}).get("Message", "") or code
        message = f"{operation} failed: {reason} ({code})"
        fix = fix_for(code, operation, reason)
        return message + (f" - fix: {fix}" if fix else "")
    return f"{operation} failed: {error}"


@overload
def classify(error: BaseException, operation: str, *, message: str | None = None) -> AwsError:
    ...


@overload
def classify(error: BaseException, operation: str, kind: type[E], *,
             message: str | None = None) -> E:
    ...


def classify(error: BaseException, operation: str, kind: type[BatchMagicError] = AwsError, *,
             message: str | None = None) -> BatchMagicError:
    """``error`` as a ``kind`` (AwsError by default) carrying its code, operation and retry
    class; ``message`` replaces the one-line description (which it usually quotes)."""
    classified = kind(describe(error, operation) if message is None else message)
    classified.code = error_code(error)
    classified.operation = operation
    classified.throttled = is_throttled(error)
    classified.transient = is_transient(error)
    return classified


def rephrased(error: BatchMagicError, kind: type[E], message: str) -> E:
    """``error``'s code, operation and retry class under another kind and message, for a caller
    that knows better what a code means there (raise it ``from error``)."""
    result = kind(message)
    result.code, result.operation = error.code, error.operation
    result.throttled, result.transient = error.throttled, error.transient
    return result


@contextmanager
def aws_errors(operation: str, kind: type[BatchMagicError] = AwsError) -> Iterator[None]:
    """Run AWS calls; a botocore error leaves as ``kind`` (see the module doc), from the
    original. ``operation`` names the call in the message, e.g. ``f"DescribeJobs {job_id}"``."""
    try:
        yield
    except AWS_EXCEPTIONS as error:
        raise classify(error, operation, kind) from error

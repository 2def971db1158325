"""AWS calls for provisioning: every failure becomes one AwsError line with the usual fix.

``batchmagic.aws.clients.explain`` knows the errors any batchmagic call meets; setup and
teardown meet a
few more (creating roles needs IAM admin rights, bucket names are global, ...). Their fixes live
here and replace the generic one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from batchmagic.aws.clients import explain
from batchmagic.errors import AwsError

_ADMIN = "needs IAM admin rights, or ask an admin to run `batchmagic setup`"

# (error code, operation prefix) -> fix. The first matching prefix wins; "" matches any call.
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

_ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


def fix_for(code: str, operation: str, reason: str = "") -> str | None:
    """The provisioning-specific fix for ``code`` raised by ``operation``, if there is one."""
    if "iam:PassRole" in reason:
        return None  # batchmagic.aws.clients.explain already says which rights to add
    for fix_code, prefix, fix in _FIXES:
        if code == fix_code and operation.startswith(prefix):
            return fix
    if code in _ACCESS_DENIED and operation.startswith(("iam:", "batch:Create", "batch:Update",
                                                        "batch:Delete", "ec2:Create")):
        return _ADMIN
    return None


def explain_provision(error: BaseException, operation: str) -> AwsError:
    """``batchmagic.aws.clients.explain``, with the fixes that provisioning calls need."""
    explained = explain(error, operation)
    if not isinstance(error, ClientError):
        return explained
    reason = str(error.response.get("Error", {}).get("Message", "") or explained.code)
    fix = fix_for(explained.code, operation, reason)
    if fix is None:
        return explained
    return AwsError(f"{operation} failed: {reason} ({explained.code}) - fix: {fix}",
                    code=explained.code, operation=operation)


def call(operation: str, method: Callable[..., Any], **kwargs: Any) -> Any:
    """``method(**kwargs)``; an AWS failure raises an explained AwsError (its ``code`` is kept
    so callers can tell "not found" from real failures). ``operation`` is e.g. 'iam:GetRole'."""
    try:
        return method(**kwargs)
    except (ClientError, BotoCoreError) as error:
        raise explain_provision(error, operation) from error


def wait_until(what: str, probe: Callable[[], tuple[bool, str]], *, timeout: float,
               operation: str, hint: str = "") -> None:
    """Poll ``probe`` (-> (done, current state)) until done; interval grows from 0.2 s to 5 s.

    AWS Batch takes from seconds (emulator) to a few minutes (EC2) to settle a change.
    """
    deadline = time.monotonic() + timeout
    interval = 0.2
    while True:
        done, state = probe()
        if done:
            return
        if time.monotonic() >= deadline:
            message = f"{what} is still {state} after {timeout:.0f} s"
            raise AwsError(message + (f" - {hint}" if hint else ""), code="Timeout",
                           operation=operation)
        time.sleep(interval)
        interval = min(interval * 1.5, 5.0)

"""AWS calls for provisioning: every failure becomes one AwsError line with the usual fix.

The fixes that setup and teardown need (creating roles needs IAM admin rights, bucket names are
global, ...) live with every other fix in ``batchmagic.aws.errors``: operations are named
``service:Action`` (``iam:CreateRole``) so that its table can tell them apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from batchmagic.aws.backoff import Backoff
from batchmagic.aws.errors import aws_errors
from batchmagic.errors import AwsError

# A first look soon after the change (a few more Describe calls in the first second on AWS);
# the emulator settles within 50 ms.
SETTLE_BACKOFF = Backoff(first=0.06, most=5.0, factor=1.8)


def call(operation: str, method: Callable[..., Any], **kwargs: Any) -> Any:
    """``method(**kwargs)``; an AWS failure raises an explained AwsError (its ``code`` is kept
    so callers can tell "not found" from real failures). ``operation`` is e.g. 'iam:GetRole'."""
    with aws_errors(operation):
        return method(**kwargs)


def wait_until(what: str, probe: Callable[[], tuple[bool, str]], *, timeout: float,
               operation: str, hint: str = "") -> None:
    """Poll ``probe`` (-> (done, current state)) until done; interval grows from 0.06 s to 5 s.

    AWS Batch takes from seconds (emulator) to a few minutes (EC2) to settle a change.
    """
    state = "unknown"
    for _ in SETTLE_BACKOFF.attempts(timeout):
        done, state = probe()
        if done:
            return
    message = f"{what} is still {state} after {timeout:.0f} s"
    raise AwsError(message + (f" - {hint}" if hint else ""), code="Timeout", operation=operation)

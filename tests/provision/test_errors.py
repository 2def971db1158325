"""AWS errors during provisioning: one line, the call, AWS's reason, the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from batchmagic.aws.errors import classify
from batchmagic.cli import main


def _error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def test_access_denied_on_create_role_asks_for_an_admin() -> None:
    error = classify(_error("AccessDenied", "User: arn:aws:iam::1:user/ds is not "
                                     "authorized to perform: iam:CreateRole", "CreateRole"),
                              "iam:CreateRole")
    text = str(error)
    assert "\n" not in text
    assert text.startswith("iam:CreateRole failed: User: arn:aws:iam::1:user/ds")
    assert text.endswith("fix: needs IAM admin rights, or ask an admin to run `batchmagic setup`")
    assert error.code == "AccessDenied"


def test_pass_role_keeps_the_generic_fix() -> None:
    error = classify(_error("AccessDeniedException", "not authorized to perform "
                                     "iam:PassRole on resource role/x", "CreateComputeEnvironment"),
                              "batch:CreateComputeEnvironment")
    assert "allow iam:PassRole" in str(error)


def test_global_bucket_name_taken() -> None:
    error = classify(_error("BucketAlreadyExists", "The requested bucket name is not "
                                     "available", "CreateBucket"), "s3:CreateBucket")
    assert "choose another with --bucket" in str(error)


def test_other_errors_keep_the_generic_fix() -> None:
    error = classify(_error("ExpiredToken", "expired", "GetRole"), "iam:GetRole")
    assert "aws sso login" in str(error)


def test_cli_reports_a_bad_name_in_one_line(
        config: Path, emulator_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "--name", "no spaces", "--endpoint-url", emulator_url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --name 'no spaces'")
    assert err.count("\n") == 1


@pytest.mark.parametrize(("argv", "expected"), [
    (["setup", "--dry-run", "--endpoint-url", "notaurl"],
     "batchmagic setup: error: --endpoint-url notaurl: not an http(s) URL"),
    (["setup", "--dry-run", "--region", "mars-1"],
     "batchmagic setup: error: --region mars-1: not a region where AWS Batch is offered"),
    (["setup", "--dry-run", "--bucket", "Bad_Bucket", "--endpoint-url", "http://127.0.0.1:1"],
     "batchmagic setup: error: --bucket Bad_Bucket: not a valid S3 bucket name"),
    (["doctor", "--bucket", "Bad_Bucket", "--endpoint-url", "http://127.0.0.1:1"],
     "batchmagic doctor: error: --bucket Bad_Bucket: not a valid S3 bucket name"),
    (["teardown", "--yes", "--region", "xx-1", "--endpoint-url", "http://127.0.0.1:1"],
     "batchmagic teardown: error: --region xx-1: not a region where AWS Batch is offered"),
])
def test_cli_refuses_bad_input_in_one_line_before_any_call(
        config: Path, argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Checked before any call (the endpoint 127.0.0.1:1 is never reached): no traceback,
    no plan, no 'could not connect'."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(expected), captured.err
    assert captured.err.count("\n") == 1 and captured.out == "", captured

"""The warm AWS CLI: forked children behave like plain `aws` processes."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchmagic.emulator.forkserver import AwsCliForkServer, own_aws_cli


@pytest.fixture()
def server() -> Iterator[AwsCliForkServer]:
    forks = AwsCliForkServer()
    yield forks
    forks.close()


def _env(emulator_url: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
            "AWS_ENDPOINT_URL": emulator_url, "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def test_forked_cli_copies_with_its_own_env_and_cwd(server: AwsCliForkServer, emulator_url: str,
                                                    tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hi")
    env = _env(emulator_url)
    made = server.spawn([own_aws_cli(), "s3", "mb", "s3://forked-bucket"], env, str(tmp_path))
    assert made.wait() == 0
    copy = server.spawn([own_aws_cli(), "s3", "cp", "hello.txt", "s3://forked-bucket/h.txt"],
                        env, str(tmp_path))  # a relative path: resolved in the given cwd
    assert copy.wait() == 0
    listing = server.spawn([own_aws_cli(), "s3", "ls", "s3://forked-bucket/"], env, "/")
    assert listing.stdout is not None
    output = listing.stdout.read().decode()
    assert listing.wait() == 0
    assert "h.txt" in output


def test_forked_cli_reports_failures_like_the_cli(server: AwsCliForkServer,
                                                  emulator_url: str) -> None:
    failing = server.spawn([own_aws_cli(), "s3", "ls", "s3://no-such-bucket-here/"],
                           _env(emulator_url), "/")
    assert failing.stdout is not None
    output = failing.stdout.read().decode()
    assert failing.wait() != 0
    assert "NoSuchBucket" in output


def test_forked_cli_has_its_own_process_group_and_can_be_killed(
    server: AwsCliForkServer, emulator_url: str
) -> None:
    env = _env(emulator_url)
    made = server.spawn([own_aws_cli(), "s3", "mb", "s3://forked-wait"], env, "/")
    assert made.wait() == 0
    # A waiter polls every 5 s for a key that never comes: it runs until it is stopped.
    follower = server.spawn([own_aws_cli(), "s3api", "wait", "object-exists", "--bucket",
                             "forked-wait", "--key", "never"], env, "/")
    time.sleep(1.0)
    assert os.getpgid(follower.pid) == follower.pid
    os.killpg(follower.pid, signal.SIGTERM)
    assert follower.wait() == -signal.SIGTERM
    with pytest.raises(ProcessLookupError):
        os.kill(follower.pid, 0)

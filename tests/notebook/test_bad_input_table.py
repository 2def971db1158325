"""Sixty-odd bad inputs, one table: each is refused with one clear line, before any AWS call
(counted with botocore event hooks on every client the magic uses), with nothing uploaded and
no job submitted, and the kernel runs the next cell as if nothing happened."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

from batchmagic.aws.clients import AwsClients
from batchmagic.errors import BatchMagicError
from tests.helpers import job_count, object_count

# (magic line, cell, what the one line says); cells marked MULTI may add the source line and
# a caret under the first line (syntax and template errors point at the spot).
CASES: list[tuple[str, str, str]] = [
    # the cell itself
    ("--local", "x = (1,\n", "SyntaxError in the cell at line 1: '(' was never closed"),
    ("--local", "def f(:\n  pass", "SyntaxError in the cell at line 1: invalid syntax"),
    ("--local", "print('{{ nope }}')", "Cell template error at line 1: 'nope' is undefined"),
    ("--local", "print('{% if %}')", "Cell template error at line 1: Expected an expression"),
    ("--local", "print('{{ workingDir }')", "Cell template error at line 1: unexpected '}'"),
    # files and globs
    ("--local --inputs missing.csv", "", "input 'missing.csv': no such file or directory"),
    ("--local --inputs 'nomatch*.csv'", "", "input 'nomatch*.csv': no such file or directory"),
    ("--local --inputs /definitely/not/here", "", "input '/definitely/not/here': no such file"),
    ("--local --requirements missing-req.txt", "", "--requirements missing-req.txt: no such file"),
    ("--local --pip 'pkg @ https://user:s3cr3t@example.com/pkg-1.0.tar.gz'", "",
     "the URL of 'pkg' carries credentials"),
    ("--local --outputs ../escape.txt", "", "--outputs '../escape.txt': use a pattern relative"),
    ("--local --outputs /etc/passwd", "", "--outputs '/etc/passwd': use a pattern relative"),
    ("--local --outputs ''", "", "--outputs '': use a pattern relative to the work dir"),
    ("--local --output-dir file.txt", "", "file.txt: exists and is not a directory"),
    ("--local --output-dir file.txt/sub", "", "file.txt/sub: cannot be created (Not a directory)"),
    # sizes
    ("--local --cpu 0.25 --memory 4096", "", "Fargate does not offer 4096 MiB with 0.25 vCPU"),
    ("--local --cpu 1.5", "", "Fargate does not offer 1.5 vCPU"),
    ("--local --cpu 0", "", "Fargate does not offer 0 vCPU"),
    ("--local --cpu -1", "", "Fargate does not offer -1 vCPU"),
    ("--local --cpu 32", "", "Fargate does not offer 32 vCPU"),
    ("--local --cpu 16 --memory 512", "", "Fargate does not offer 512 MiB with 16 vCPU"),
    ("--local --memory 100", "", "Fargate does not offer 100 MiB with 1 vCPU"),
    ("--local --memory 0", "", "Fargate does not offer 0 MiB with 1 vCPU"),
    ("--local --cpu abc", "", "argument --cpu: invalid float value: 'abc'"),
    ("--local --memory lots", "", "argument --memory: invalid int value: 'lots'"),
    ("--local --platform ec2 --cpu 0.5", "", "EC2 jobs need whole vCPUs, not 0.5"),
    ("--local --gpu 1", "", "--gpu: Fargate has no GPUs"),
    ("--local --ephemeral-storage 10", "", "--ephemeral-storage must be 21-200 GiB"),
    ("--local --ephemeral-storage 500", "", "--ephemeral-storage must be 21-200 GiB"),
    ("--local --ephemeral-storage big", "", "argument --ephemeral-storage: invalid int value"),
    # timeouts and retries
    ("--local --timeout 5", "", "--timeout: AWS Batch needs at least 60 seconds"),
    ("--local --timeout 0", "", "--timeout: AWS Batch needs at least 60 seconds"),
    ("--local --timeout -3", "", "--timeout: AWS Batch needs at least 60 seconds"),
    ("--local --timeout soon", "", "argument --timeout: invalid int value: 'soon'"),
    ("--local --retries 100", "", "--retries 100: use 0-9"),
    ("--local --retries -1", "", "--retries -1: use 0-9"),
    ("--local --runnable-timeout -1", "", "--runnable-timeout -1: use a whole number of at"),
    ("--local --runnable-timeout 0", "", "--runnable-timeout 0: use a whole number of at least 1"),
    ("--local --diagnose-after -3", "", "--diagnose-after -3: use a whole number of at least 0"),
    ("--local --log-tail -5", "", "--log-tail -5: use a whole number of at least 0"),
    # pushes and pulls
    ("--local --push not_defined", "", "--push: not_defined not defined in the kernel"),
    ("--local --push lock", "", "--push lock: cannot be pickled"),
    ("--local --push 1bad", "", "--push '1bad': not a valid Python variable name"),
    ("--local --push a-b", "", "--push 'a-b': not a valid Python variable name"),
    ("--local --pull 1bad", "", "--pull '1bad': not a valid Python variable name"),
    ("--local --pull a.b", "", "--pull 'a.b': not a valid Python variable name"),
    ("--local --result 1bad", "", "--result '1bad': not a valid Python variable name"),
    # environment and secrets
    ("--local --env AWS_SECRET_ACCESS_KEY=x", "", "--env AWS_SECRET_ACCESS_KEY: AWS credentials"),
    ("--local --env AWS_ACCESS_KEY_ID=x", "", "--env AWS_ACCESS_KEY_ID: AWS credentials"),
    ("--local --env AWS_BATCH_JOB_ID=x", "", "--env AWS_BATCH_JOB_ID: names starting with"),
    ("--local --env 9X=1", "", "--env '9X=1': '9X' is not a valid variable name"),
    ("--local --env NOEQUALS", "", "--env 'NOEQUALS': expected KEY=VALUE."),
    ("--local --env =value", "", "--env '=value': '' is not a valid variable name"),
    ("--local --env 'A B=1'", "", "--env 'A B=1': 'A B' is not a valid variable name"),
    ("--local --secret NOEQ", "", "--secret 'NOEQ': expected NAME=ARN"),
    ("--local --secret X=not-an-arn", "", "--secret X: 'not-an-arn' is not a secret ARN"),
    # names and choices
    ("--local --name -starts-with-dash", "", "argument --name: expected one argument"),
    ("--local --platform lambda", "", "argument --platform: invalid choice: 'lambda'"),
    ("--local --arch sparc", "", "argument --arch: invalid choice: 'sparc'"),
    ("--local --image 'my image'", "", "--image 'my image': not an image name AWS Batch accepts"),
    ("--local --image 'python:3.11;rm'", "", "--image 'python:3.11;rm': not an image name"),
    ("--local --deps sometimes", "", "argument --deps: invalid choice: 'sometimes'"),
    ("--local --on-shutdown explode", "", "argument --on-shutdown: invalid choice: 'explode'"),
    ("--local --cpus 2", "", "unrecognized arguments: --cpus 2"),
    ("--local --map items", "", "--map items needs --as ITEM_NAME"),
    ("--local --on-error explode --map items", "", "argument --on-error: invalid choice"),
    # endpoints, regions, buckets
    ("--endpoint-url not-a-url", "", "--endpoint-url not-a-url: not an http(s) URL"),
    ("--endpoint-url ftp://example.com", "", "--endpoint-url ftp://example.com: not an http(s)"),
    ("--endpoint-url http://127.0.0.1:99999", "", "the port is not a number in 1-65535"),
    ("--region mars-north-9", "", "--region mars-north-9: not a region where AWS Batch"),
    ("--region US_EAST_1", "", "--region US_EAST_1: not a region where AWS Batch is offered"),
    ("--bucket Bad_Bucket", "", "--bucket Bad_Bucket: not a valid S3 bucket name"),
    ("--bucket ab", "", "--bucket ab: not a valid S3 bucket name"),
    ("--bucket 'has space'", "", "--bucket has space: not a valid S3 bucket name"),
    ("--local --bucket bad..name", "", "--bucket bad..name: not a valid S3 bucket name"),
    ("--bucket 192.168.1.1", "", "--bucket 192.168.1.1: not a valid S3 bucket name"),
]
MULTI_LINE_OK = ("SyntaxError", "Cell template error")


@pytest.fixture(scope="module")
def counted_calls() -> Iterator[list[str]]:
    """Every HTTP request any batchmagic client sends, counted by a botocore event hook on
    each client (those made before and after the table starts)."""
    sent: list[str] = []

    def count(request: Any, **_: Any) -> None:
        sent.append(request.url)

    original = AwsClients.client

    def client(self: AwsClients, service: str, config: Any = None) -> Any:
        made = original(self, service, config)
        made.meta.events.register("before-send", count)
        return made

    for clients in list(AwsClients._shared.values()):
        for made in list(vars(clients).values()):
            if hasattr(made, "meta") and hasattr(made.meta, "events"):
                made.meta.events.register("before-send", count)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AwsClients, "client", client)
        yield sent


@pytest.fixture(scope="module")
def before(local_clients_module: AwsClients) -> tuple[int, int]:
    return job_count(local_clients_module), object_count(local_clients_module)


@pytest.fixture(scope="module")
def local_clients_module() -> AwsClients:
    from batchmagic.run.target import local_target

    return AwsClients(local_target())


def test_the_table_has_sixty_bad_inputs() -> None:
    assert len(CASES) >= 60
    assert len({(line, cell) for line, cell, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("line", "cell", "expected"), CASES,
                         ids=[f"{i:02}" for i in range(len(CASES))])
def test_bad_input_is_one_line_before_any_call(
        ip: Any, tmp_path: Path, counted_calls: list[str], before: tuple[int, int],
        line: str, cell: str, expected: str) -> None:
    (tmp_path / "file.txt").write_text("a file, not a directory")
    ip.user_ns.update(lock=threading.Lock(), items=[1, 2])
    counted_calls.clear()
    with pytest.raises((BatchMagicError, UsageError)) as caught:
        ip.run_cell_magic("aws_batch", line, cell or "x = 1")
    message = str(caught.value)
    lines = message.splitlines()
    assert expected in lines[0], message
    if not message.startswith(MULTI_LINE_OK):
        assert len(lines) == 1, message
    assert counted_calls == [], f"{len(counted_calls)} AWS calls: {counted_calls[:3]}"
    # A usable kernel: the next cell runs.
    assert ip.run_cell("1 + 1").result == 2


def test_nothing_was_uploaded_or_submitted(before: tuple[int, int],
                                          local_clients_module: AwsClients) -> None:
    assert (job_count(local_clients_module), object_count(local_clients_module)) == before


def test_the_kernel_still_runs_a_job_after_the_table(ip: Any,
                                                     counted_calls: list[str]) -> None:
    counted_calls.clear()
    run = ip.run_cell_magic("aws_batch", "--local --pull after", "after = 'fine'")
    assert run.status == "SUCCEEDED" and ip.user_ns["after"] == "fine"
    assert counted_calls, "the hooks count the calls of a real run (so zero above means zero)"

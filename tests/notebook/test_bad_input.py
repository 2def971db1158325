"""Bad input gets one clear error before anything is uploaded or submitted."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from traitlets import TraitError

from batchmagic import ConfigurationError
from batchmagic.aws.clients import AwsClients
from tests.helpers import job_count, object_count


@pytest.fixture()
def nothing_submitted(local_clients: AwsClients) -> Any:
    """Asserts that the test submitted no job and uploaded no object."""
    jobs, objects = job_count(local_clients), object_count(local_clients)
    yield
    assert job_count(local_clients) == jobs
    assert object_count(local_clients) == objects


@pytest.mark.parametrize(
    ("line", "cell", "expected"),
    [
        ("--local", "x = (1,\n", "SyntaxError"),
        ("--local", "print('{{ nope }}')", "--no-template"),
        ("--local", "print('{% if %}')", "--no-template"),
        ("--local --inputs missing.csv", "pass", "missing.csv"),
        ("--local --cpu 0.25 --memory 4096", "pass", "512"),
        ("--local --cpu 1.5", "pass", "--cpu"),
        ("--local --push not_defined", "pass", "not_defined"),
        ("--local --pull 1bad", "pass", "1bad"),
        ("--local --env AWS_SECRET_ACCESS_KEY=x", "pass", "task role"),
        ("--local --env 9X=1", "pass", "9X"),
        ("--local --outputs ../escape.txt", "pass", "relative to the work dir"),
        ("--local --timeout 5", "pass", "60"),
        ("--local --platform ec2 --cpu 0.5", "pass", "whole"),
    ],
)
def test_bad_input_is_refused_before_any_call(
    ip: Any, nothing_submitted: None, line: str, cell: str, expected: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ip.run_cell_magic("aws_batch", line, cell)
    assert expected in str(caught.value)


def test_unpicklable_push_is_refused(ip: Any, nothing_submitted: None) -> None:
    ip.user_ns["lock"] = threading.Lock()
    with pytest.raises(ConfigurationError, match="lock: cannot be pickled"):
        ip.run_cell_magic("aws_batch", "--local --push lock", "pass")


def test_unknown_option_is_a_usage_error(ip: Any, nothing_submitted: None) -> None:
    with pytest.raises(UsageError):
        ip.run_cell_magic("aws_batch", "--local --cpus 2", "pass")


def test_template_off_leaves_braces_alone(ip: Any) -> None:
    run = ip.run_cell_magic("aws_batch", "--local --no-template", "print('{{ literal }}')")
    assert run.logs == ["{{ literal }}"]


def test_output_dir_that_is_a_file_is_refused(ip: Any, tmp_path: Path,
                                              nothing_submitted: None) -> None:
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(ConfigurationError, match="not a directory"):
        ip.run_cell_magic("aws_batch", "--local --output-dir taken", "pass")


@pytest.mark.parametrize(("line", "expected"), [
    ("--region mars-1", "--region mars-1: not a region where AWS Batch is offered"),
    ("--bucket Bad_Bucket", "--bucket Bad_Bucket: not a valid S3 bucket name"),
    ("--log-tail -1", "--log-tail -1: use a whole number of at least 0"),
    ("--image 'a b'", "--image 'a b': not an image name AWS Batch accepts"),
])
def test_session_defaults_are_checked_when_set(ip: Any, line: str, expected: str) -> None:
    """A bad %aws_batch_config value is refused at once, not kept to fail every later cell."""
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    with pytest.raises(ConfigurationError) as caught:
        ip.run_line_magic("aws_batch_config", line)
    assert str(caught.value).startswith(expected), caught.value
    assert magics.layers.session == {}


def test_jobs_limit_must_be_positive(ip: Any) -> None:
    with pytest.raises(UsageError, match="--limit: -3: use a whole number of at least 1"):
        ip.run_line_magic("aws_batch_jobs", "--limit -3")


@pytest.mark.parametrize(("name", "value"), [
    ("display_mode", "fancy"), ("on_shutdown", "explode"), ("platform", "k8s"),
    ("arch", "sparc"), ("deps", "maybe")])
def test_config_refuses_a_value_outside_the_choices(ip: Any, name: str, value: str) -> None:
    """`%config AwsBatchMagics.on_shutdown = "explode"` is refused like the magic's option,
    instead of being kept and quietly treated as the default."""
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    before = getattr(magics, name)
    ip.run_line_magic("config", f"AwsBatchMagics.{name} = {value!r}")
    assert getattr(magics, name) == before
    with pytest.raises(TraitError):
        setattr(magics, name, value)
    setattr(magics, name, before)

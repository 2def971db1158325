"""Live checks on a real account (``pytest -m aws``): identity and partition, the doctor's test
job, and a cell with globs, quoted values and pulled variables through the magic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from batchmagic.aws.clients import AwsClients
from batchmagic.provision.report import PASS
from batchmagic.provision.testjob import submit_test_job
from batchmagic.settings import Settings

pytestmark = pytest.mark.aws


def test_identity_gives_the_partition(aws_clients: AwsClients) -> None:
    arn = aws_clients.identity["Arn"]
    assert arn.startswith(f"arn:{aws_clients.partition}:")
    host = aws_clients.logs_streaming.meta.endpoint_url
    assert aws_clients.logs_streaming.meta.config.inject_host_prefix, host


def test_the_doctors_test_job_passes_every_step(aws_clients: AwsClients,
                                                aws_settings: Settings) -> None:
    steps = submit_test_job(aws_clients, aws_settings, timeout=1200)
    assert [(s.check, s.status) for s in steps if s.status != PASS] == [], steps


def test_a_cell_with_globs_quotes_and_pulls(aws_settings: Settings, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ip: Any = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "batchmagic")
    ip.run_line_magic("aws_batch_config", " ".join(
        f"--{name.replace('_', '-')} {value}" for name, value in {
            "region": aws_settings.region, "bucket": aws_settings.bucket,
            "queue": aws_settings.queue,
            "compute-environment": aws_settings.compute_environment,
            "execution-role": aws_settings.execution_role,
            "task-role": aws_settings.task_role}.items() if value))
    cell = ("import os\nos.makedirs('results', exist_ok=True)\n"
            "open('results/a.txt', 'w').write(os.environ['GREETING'])\n"
            "first, second = 1, 2\n")
    run = ip.run_cell_magic("aws_batch", '--outputs "results/*.txt" --env GREETING="hello '
                            'world" --pull first second --timeout 1200', cell)
    assert run.status == "SUCCEEDED" and run.warnings == []
    assert (tmp_path / "results" / "a.txt").read_text() == "hello world"
    assert (ip.user_ns["first"], ip.user_ns["second"]) == (1, 2)

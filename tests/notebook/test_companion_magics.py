"""Help, doctor, attach from tags alone, queue creation, and credentials staying out of jobs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.resolve import resolve_queue
from batchmagic.errors import ConfigurationError
from batchmagic.ledger import Ledger
from batchmagic.settings import Settings
from tests.helpers import unique


def test_cell_magic_help_lists_every_option(ip: Any) -> None:
    help_text = ip.magics_manager.magics["cell"]["aws_batch"].__doc__
    for option in ("--inputs", "--outputs", "--output-dir", "--push", "--pull", "--result",
                   "--image", "--cpu", "--memory", "--env", "--timeout", "--platform",
                   "--region", "--profile", "--bucket", "--queue", "--compute-environment",
                   "--execution-role", "--task-role", "--no-template", "--keep", "--local",
                   "--no-wait", "--dry-run"):
        assert option in help_text, option
    assert "stage-in" in help_text


def test_doctor_magic_passes_on_the_local_setup(ip: Any) -> None:
    report = ip.run_line_magic("aws_batch_doctor", "--local")
    text = repr(report)
    assert "FAIL" not in text, text
    assert "job queue" in text and "PASS" in text
    assert "<table" in report._repr_html_()


def test_attach_by_job_id_alone_uses_the_job_tags(ip: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    first = ip.run_cell_magic("aws_batch", "--local --keep --no-wait --pull word --outputs w.txt",
                              "open('w.txt', 'w').write('tagged')\nword = 'from tags'")
    # Another machine: an empty ledger, a fresh working directory, only the job id.
    monkeypatch.setattr(magics, "ledger", Ledger(tmp_path / "other" / "runs.sqlite3"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    first.wait(timeout=120)  # collected where it started; --keep leaves the results in S3…
    ip.user_ns.pop("word")
    run = ip.run_line_magic("aws_batch_attach", f"{first.job_id} --result again")
    assert ip.user_ns["word"] == "from tags"  # …and again, from the run's manifest alone
    assert run.record.pull == ("word",)
    assert (elsewhere / "w.txt").read_text() == "tagged"  # the file itself came back here
    assert ip.user_ns["again"] is run


def test_queue_is_created_once_for_a_compute_environment(clients: AwsClients) -> None:
    name = unique("queue-test-ce")  # the session emulator outlives this test
    ce = clients.batch.create_compute_environment(
        computeEnvironmentName=name, type="MANAGED",
        computeResources={"type": "FARGATE", "maxvCpus": 4, "subnets": ["subnet-1"],
                          "securityGroupIds": ["sg-1"]},
    )
    settings = Settings(compute_environment=ce["computeEnvironmentName"])
    first = resolve_queue(clients, settings)
    second = resolve_queue(clients, settings)
    assert first == second
    queues = clients.batch.describe_job_queues(jobQueues=[f"{name}-batchmagic"])["jobQueues"]
    assert len(queues) == 1 and queues[0]["status"] == "VALID"
    assert queues[0]["tags"] == {"batchmagic:managed": "true"}


def test_credentials_never_reach_the_job_logs_or_ledger(
    ip: Any, local_clients: AwsClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE12")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    run = ip.run_cell_magic("aws_batch", "--local", "import os\nprint(sorted(os.environ))")
    job = local_clients.batch.describe_jobs(jobs=[run.job_id])["jobs"][0]
    definition = local_clients.batch.describe_job_definitions(
        jobDefinitions=[job["jobDefinition"]])["jobDefinitions"][0]
    seen = json.dumps([job, definition], default=str) + "\n".join(run.logs)
    seen += Path(ip.magics_manager.registry["AwsBatchMagics"].ledger.path).read_bytes().decode(
        "utf-8", "replace")
    assert secret not in seen
    assert "AKIAEXAMPLEEXAMPLE12" not in seen


def test_the_jobs_table_shows_each_runs_cost_and_totals_by_notebook(ip: Any) -> None:
    run = ip.run_cell_magic("aws_batch", "--local --result r", "print('priced')")
    table = ip.run_line_magic("aws_batch_jobs", "--limit 50")
    row = next(r for r in table if r["job id"] == run.job_id)
    assert row["cost"] == f"${run.cost_usd:.4f}"
    assert "estimated cost by notebook:" in repr(table)
    assert table.totals()["(no notebook)"] >= run.cost_usd - 0.0001


@pytest.mark.parametrize("magic", ["aws_batch_attach", "aws_batch_logs"])
def test_a_local_run_whose_emulator_is_gone_is_one_clear_line(ip: Any, magic: str) -> None:
    """After `batchmagic emulator --stop` (or its idle stop) the ledger still names the run,
    at the old emulator's port: said plainly, not a connection-refused traceback."""
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    run = ip.run_cell_magic("aws_batch", "--local", "print('then')")
    recorded = magics.ledger.find(run.job_id)
    gone = dataclasses.replace(recorded, job_id=f"gone-{magic}", job_name=f"gone-{magic}",
                               endpoint_url="http://127.0.0.1:1")  # nothing listens there
    magics.ledger.record(gone)
    with pytest.raises(ConfigurationError) as caught:
        ip.run_line_magic(magic, gone.job_id)
    assert str(caught.value).startswith(
        f"job {gone.job_id} ran on the emulator at http://127.0.0.1:1, which is no longer "
        "running"), caught.value

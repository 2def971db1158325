"""``%aws_batch_doctor``: the doctor's checks (and optionally a test job) as one table."""

from __future__ import annotations

from batchmagic.aws.clients import AwsClients
from batchmagic.notebook.format import Rendered
from batchmagic.run.target import resolve_target
from batchmagic.settings import Settings


def doctor_table(settings: Settings, *, submit_test_job: bool = False) -> Rendered:
    """Run the checks against ``settings``' target; the test job's steps print as they go."""
    from batchmagic.provision.doctor import run_doctor
    from batchmagic.provision.report import render_checks_html, render_checks_text
    from batchmagic.provision.testjob import submit_test_job as run_test_job

    target, settings = resolve_target(settings)
    checks = run_doctor(AwsClients.shared(target), settings)
    if submit_test_job:
        checks += run_test_job(AwsClients.shared(target), settings, report=lambda step: (
            print(f"{step.status}  {step.check}: {step.detail}", flush=True)))
    return Rendered(render_checks_text(checks), render_checks_html(checks))

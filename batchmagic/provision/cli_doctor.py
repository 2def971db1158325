"""`batchmagic doctor`: check the configured setup (settings file, ``BATCHMAGIC_*`` variables,
flags) and explain each failure with its fix. Exits non-zero when any check fails."""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from batchmagic.provision.cli_common import add_target_arguments

    add_target_arguments(parser)
    parser.add_argument("--bucket", help="S3 bucket to check (default: the configured one)")
    parser.add_argument("--queue", help="job queue to check (default: the configured one)")
    parser.add_argument("--local", action="store_true",
                        help="check the per-user local emulator that --local cells use "
                             "(started, and set up like an account, if needed)")
    parser.add_argument("--submit-test-job", action="store_true",
                        help="then submit a tiny three-container job, follow it and report "
                             "each step (definition, submit, log streams, live tail, outputs)")


def run(args: argparse.Namespace) -> int:
    from batchmagic.provision.cli_common import clients_for, load_settings
    from batchmagic.provision.doctor import run_doctor
    from batchmagic.provision.report import render_checks_text

    settings = load_settings(args)
    if args.local:
        settings = _local(settings)
    clients = clients_for(settings)
    print(f"batchmagic doctor: {clients.target.describe()}\n")
    checks = run_doctor(clients, settings)
    print(render_checks_text(checks))
    if args.submit_test_job:
        checks += _test_job(clients, settings)
    return 0 if all(check.ok for check in checks) else 1


def _local(settings: Any) -> Any:
    """The settings of the local emulator: its endpoint, and what setup made there."""
    from batchmagic.aws.clients import AwsClients, AwsTarget
    from batchmagic.emulator.daemon import ensure_background_emulator
    from batchmagic.provision.setup import ensure_setup

    url = ensure_background_emulator()
    clients = AwsClients(AwsTarget(region="us-east-1", endpoint_url=url, emulator=True))
    made = ensure_setup(clients, region="us-east-1").settings
    return settings.with_values(**{k: v for k, v in made.items() if v is not None})


def _test_job(clients: Any, settings: Any) -> list[Any]:
    from batchmagic.provision.report import render_checks_text
    from batchmagic.provision.testjob import submit_test_job

    print("\nSubmitting a test job (a minute or two on AWS)...", flush=True)
    steps = submit_test_job(
        clients, settings,
        report=lambda step: print(f"  {step.status}  {step.check}: {step.detail}"
                                  + (f"  - fix: {step.fix}" if step.fix else ""), flush=True))
    print()
    print(render_checks_text(steps))
    return steps

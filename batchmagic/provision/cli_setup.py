"""`batchmagic setup`: create the roles, compute environment, queue, bucket and log group that
batchmagic runs need, reuse the ones that exist, and write the settings that point at them.

Running it again changes nothing. ``--dry-run`` shows the plan and makes only read calls.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from batchmagic.provision.cli_common import add_target_arguments

    parser.add_argument("--name", default="batchmagic",
                        help="prefix of every resource name (default: batchmagic)")
    parser.add_argument("--bucket", help="S3 bucket for runs (default: NAME-ACCOUNT-REGION, "
                        "created if missing)")
    parser.add_argument("--platform", choices=("fargate", "ec2"), default="fargate",
                        help="compute environment kind (default: fargate)")
    parser.add_argument("--spot", action="store_true",
                        help="also a Spot compute environment (FARGATE_SPOT, or EC2 Spot) and its "
                             "queue NAME-spot-queue, for %%aws_batch --spot")
    parser.add_argument("--gpu", action="store_true",
                        help="also an EC2 compute environment of GPU instances (g4dn, g5) and "
                             "its queue NAME-gpu-queue, for %%aws_batch --gpu N")
    parser.add_argument("--secrets-prefix", metavar="PREFIX",
                        help="let the execution role read Secrets Manager secrets and SSM "
                             "parameters whose names start with PREFIX (for --secret)")
    add_target_arguments(parser)
    parser.add_argument("--dry-run", action="store_true",
                        help="show what would be created or reused; change nothing")


def run(args: argparse.Namespace) -> int:
    from batchmagic.errors import BatchMagicError
    from batchmagic.provision.cli_common import clients_for, load_settings
    from batchmagic.provision.setup import ensure_setup
    from batchmagic.settings import settings_file, write_settings_file

    # Setup takes its target from flags and the environment only: a settings file left by an
    # earlier setup (perhaps against the emulator) must not redirect it.
    settings = load_settings(args, use_file=False)
    clients = clients_for(settings)
    region = settings.region or "us-east-1"
    verb = "plan for" if args.dry_run else "setting up"
    print(f"batchmagic setup: {verb} {args.name!r} on {clients.target.describe()}")
    try:
        result = ensure_setup(clients, name=args.name, bucket=args.bucket,
                              platform=args.platform, region=region, dry_run=args.dry_run,
                              spot=args.spot, secrets_prefix=args.secrets_prefix,
                              gpu=args.gpu,
                              report=lambda r: print(r.line(), flush=True))
    except BatchMagicError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.dry_run:
        print("\nDry run: nothing was changed. Run without --dry-run to apply.")
        return 0
    values = dict(result.settings)
    if settings.profile:
        values["profile"] = settings.profile
    path = write_settings_file(values, settings_file())
    state = "changed" if result.changed else "already in place, nothing changed"
    print(f"\nSetup {state}. Settings written to {path}")
    print("In a notebook, the same settings are:")
    print(f"  {result.config_line()}")
    return 0

"""`batchmagic teardown`: delete what `batchmagic setup` created, found by its tags
(``batchmagic:managed=true``, ``batchmagic:name=NAME``) - nothing else. Asks first unless
``--yes``. The bucket is kept unless ``--delete-bucket``; the shared log group is always kept."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from batchmagic.provision.cli_common import add_target_arguments

    parser.add_argument("--name", default="batchmagic",
                        help="the setup to remove (its --name; default: batchmagic)")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--delete-bucket", action="store_true",
                        help="also empty and delete the bucket setup created")
    parser.add_argument("--bucket", help="the bucket (default: the configured one, else "
                        "NAME-ACCOUNT-REGION)")
    add_target_arguments(parser)


def _confirm(count: int) -> bool:
    try:
        answer = input(f"Delete these {count} resources? [y/N] ")
    except EOFError:  # no terminal, no answer: the safe choice
        print()
        return False
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    from batchmagic.errors import BatchMagicError
    from batchmagic.provision import resources as res
    from batchmagic.provision.calls import call
    from batchmagic.provision.cli_common import clients_for, load_settings
    from batchmagic.provision.report import WOULD_DELETE, ResourceResult
    from batchmagic.provision.teardown import find, teardown
    from batchmagic.settings import LOG_GROUP

    settings = load_settings(args)
    clients = clients_for(settings)
    print(f"batchmagic teardown: {args.name!r} on {clients.target.describe()}")
    try:
        bucket = None
        if args.delete_bucket:
            bucket = args.bucket or settings.bucket
            if not bucket:
                account = call("sts:GetCallerIdentity", clients.sts.get_caller_identity)
                bucket = res.Names(args.name).default_bucket(account["Account"],
                                                             clients.target.region)
        items = find(clients, name=args.name, bucket=bucket)
        if not items:
            print("Nothing to remove: no resource is tagged as created by this setup.")
            return 0
        for item in items:
            print(ResourceResult(item.kind, item.name, WOULD_DELETE).line())
        if not args.delete_bucket:
            print("(the bucket is kept; --delete-bucket removes it)")
        if not args.yes and not _confirm(len(items)):
            print("Aborted: nothing was deleted.")
            return 1
        teardown(clients, items, report=lambda r: print(r.line(), flush=True))
    except BatchMagicError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"\nRemoved {len(items)} resources. The log group {LOG_GROUP} is kept.")
    return 0

"""`batchmagic` on the command line: emulator, setup, doctor, teardown."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from batchmagic.errors import BatchMagicError

# Each subcommand lives in its own module exposing add_arguments(parser) and run(args) -> int;
# modules are imported only when their command runs, so `batchmagic emulator` stays fast.
_COMMANDS = {
    "emulator": (
        "batchmagic.emulator.cli",
        "serve the embedded AWS emulator (S3, Logs, IAM, STS, EC2, Batch)",
    ),
    "setup": (
        "batchmagic.provision.cli_setup",
        "create the roles, compute environment, queue, bucket and log group",
    ),
    "doctor": (
        "batchmagic.provision.cli_doctor",
        "check the configured AWS setup and explain each failure",
    ),
    "teardown": ("batchmagic.provision.cli_teardown", "remove what `batchmagic setup` created"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batchmagic", description="Run notebook cells on AWS Batch (or the embedded emulator)."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in _COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module_name)
        # Argument definitions are cheap; import the module only to add them.
        importlib.import_module(module_name).add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args))
    except KeyboardInterrupt:
        return 130
    except BatchMagicError as error:  # bad input: one line, like argparse's own errors
        print(f"batchmagic {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The magic line's options: one table, used by ``%%aws_batch`` and ``%aws_batch_config``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeVar

from IPython.core.magic_arguments import argument, argument_group

from batchmagic.run.envs import PackageRequest
from batchmagic.run.prepare import RunOptions
from batchmagic.settings import setting_help

F = TypeVar("F", bound=Callable[..., Any])

# Settings that can be given on the magic line (and to %aws_batch_config).
SETTING_ARGUMENTS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--local",), {"action": "store_true", "default": None}),
    (("--image",), {"metavar": "IMAGE"}),
    (("--cpu",), {"type": float, "metavar": "VCPUS"}),
    (("--memory",), {"type": int, "metavar": "MIB"}),
    (("--timeout",), {"type": int, "metavar": "SECONDS"}),
    (("--platform",), {"choices": ["fargate", "ec2"]}),
    (("--region",), {}),
    (("--profile",), {}),
    (("--endpoint-url",), {"metavar": "URL"}),
    (("--bucket",), {}),
    (("--prefix",), {}),
    (("--queue",), {}),
    (("--compute-environment",), {"metavar": "NAME"}),
    (("--execution-role",), {"metavar": "ARN"}),
    (("--task-role",), {"metavar": "ARN"}),
    (("--ephemeral-storage",), {"type": int, "metavar": "GIB"}),
    (("--arch",), {"choices": ["x86_64", "arm64"]}),
    (("--gpu",), {"type": int, "metavar": "N"}),
    (("--spot",), {"action": "store_true", "default": None}),
    (("--spot-queue",), {"metavar": "QUEUE"}),
    (("--gpu-queue",), {"metavar": "QUEUE"}),
    (("--runnable-timeout",), {"type": int, "metavar": "SECONDS"}),
    (("--diagnose-after",), {"type": int, "metavar": "SECONDS"}),
    (("--output-dir",), {"metavar": "DIR"}),
    (("--keep",), {"action": "store_true", "default": None}),
    (("--no-template",), {"action": "store_false", "dest": "template", "default": None,
                          "help": "run the cell as written, without Jinja2 rendering"}),
    (("--on-shutdown",), {"choices": ["leave", "terminate"]}),
    (("--log-tail",), {"type": int, "metavar": "LINES"}),
    (("--deps",), {"choices": ["auto", "none"]}),
]

# A list option given twice adds to the list (`--setup A --setup B` runs both), where argparse's
# default would silently keep only the last one.
def _repeatable() -> dict[str, Any]:
    return {"action": "extend", "default": []}  # a list of its own for each option


# Per-run options of %%aws_batch only.
RUN_ARGUMENTS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--inputs",), {"nargs": "+", **_repeatable(), "metavar": "PATH",
                     "help": "local files, directories or globs staged into the work dir"}),
    (("--outputs",), {"nargs": "+", **_repeatable(), "metavar": "PATTERN",
                      "help": "files the cell writes in the work dir that come back "
                              "(e.g. '*.csv'; a directory name brings back all it holds)"}),
    (("--push",), {"nargs": "+", **_repeatable(), "metavar": "NAME",
                   "help": "kernel variables sent to the job (pickled)"}),
    (("--pull",), {"nargs": "+", **_repeatable(), "metavar": "NAME",
                   "help": "job variables bound back into the kernel (pickled)"}),
    (("--env",), {"nargs": "+", **_repeatable(), "metavar": "KEY=VALUE",
                  "help": "environment variables of the main container"}),
    (("--secret",), {"nargs": "+", **_repeatable(), "metavar": "NAME=ARN",
                     "help": "environment variable NAME of main from a Secrets Manager secret or "
                             "SSM parameter ARN (resolved by ECS with the execution role; the "
                             "value never passes through the kernel)"}),
    (("--pip",), {"nargs": "+", **_repeatable(), "metavar": "SPEC",
                  "help": "packages installed in the job (pip requirement specs, e.g. "
                          "'cowsay==6.1'); the environment is cached in the bucket"}),
    (("--requirements",), {"metavar": "FILE",
                           "help": "a requirements file of packages installed in the job"}),
    (("--setup",), {"nargs": "+", **_repeatable(), "metavar": "CMD",
                    "help": "shell commands run in main before the cell (e.g. apt-get)"}),
    (("--rebuild-env",), {"action": "store_true",
                          "help": "build the job's environment again instead of restoring "
                                  "the cached one"}),
    (("--result",), {"metavar": "NAME", "help": "also bind the run object to NAME"}),
    (("--name",), {"metavar": "JOB_NAME", "help": "job name prefix (default: cell)"}),
    (("--no-wait",), {"action": "store_true",
                      "help": "return the run at once; logs keep streaming, outputs land when "
                              "the job ends (see run.wait())"}),
    (("--dry-run",), {"action": "store_true",
                      "help": "print the job definition, submission, S3 keys and container "
                              "graph; upload and submit nothing"}),
]


def _setting_name(flags: tuple[str, ...], kwargs: dict[str, Any]) -> str:
    return str(kwargs.get("dest") or flags[0].lstrip("-").replace("-", "_"))


RUN_GROUP = "this run"
SETTINGS_GROUP = "settings — also %aws_batch_config"


def _decorate(func: F, table: list[tuple[tuple[str, ...], dict[str, Any]]], helps: bool,
              group: str) -> F:
    # magic_arguments decorators apply bottom-up: reverse so help lists them in table order,
    # under their group's title (a group holds the arguments that follow it in source order).
    for flags, kwargs in reversed(table):
        kw = dict(kwargs)
        if helps and "help" not in kw:
            kw["help"] = setting_help(_setting_name(flags, kwargs))
        func = argument(*flags, **kw)(func)
    return argument_group(group)(func)  # type: ignore[no-any-return]


def setting_arguments(func: F) -> F:
    return _decorate(func, SETTING_ARGUMENTS, helps=True, group=SETTINGS_GROUP)


def run_arguments(func: F) -> F:
    return _decorate(func, RUN_ARGUMENTS, helps=False, group=RUN_GROUP)


def setting_choices() -> dict[str, list[str]]:
    """The settings that take one of a few values, with those values."""
    return {_setting_name(flags, kwargs): list(kwargs["choices"])
            for flags, kwargs in SETTING_ARGUMENTS if "choices" in kwargs}


def setting_values(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the line (options not given, or given as ``''``, are absent:
    an empty value means "not set here", so the lower layers' value applies)."""
    values = {}
    for flags, kwargs in SETTING_ARGUMENTS:
        name = _setting_name(flags, kwargs)
        value = getattr(args, name, None)
        if value is not None and value != "":
            values[name] = value
    return values


def reset_names(args: argparse.Namespace) -> list[str]:
    """Settings given as an empty value (``--image ''``)."""
    return [name for flags, kwargs in SETTING_ARGUMENTS
            if getattr(args, name := _setting_name(flags, kwargs), None) == ""]


def run_options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(
        inputs=tuple(args.inputs),
        outputs=tuple(args.outputs),
        push=tuple(args.push),
        pull=tuple(args.pull),
        env=tuple(args.env),
        secrets=tuple(args.secret),
        result=args.result,
        name=args.name,
        wait=not args.no_wait,
        dry_run=args.dry_run,
        packages=PackageRequest(pip=tuple(args.pip), requirements_file=args.requirements,
                                setup=tuple(args.setup), rebuild=args.rebuild_env),
    )

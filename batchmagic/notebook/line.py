"""The magic line, read with shell rules.

IPython's ``parse_argstring`` splits with ``shlex`` in non-POSIX mode, which keeps the quotes:
``--outputs "*.csv"`` would reach us as the pattern ``"*.csv"`` (quotes included), which matches
nothing, and ``--env GREETING="hello world"`` could not carry a space. Users type these lines
like shell commands, so they are split like shell commands (``shlex.split``: quotes removed,
spaces inside quotes kept, ``''`` an empty value), then parsed by the same argparse parser that
``magic_arguments`` builds, so ``%%aws_batch?`` help is unchanged.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from IPython.core.error import UsageError


def split_line(line: str) -> list[str]:
    """The magic line's words, as a POSIX shell would split them."""
    try:
        return shlex.split(line, posix=True)
    except ValueError as error:  # "No closing quotation", "No escaped character"
        raise UsageError(f"cannot read the magic line ({error}): {line.strip()}") from None


def parse_line(magic: Any, line: str) -> argparse.Namespace:
    """Parse ``line`` with the argparse parser of a ``@magic_arguments`` magic."""
    parser: argparse.ArgumentParser = magic.parser
    return parser.parse_args(split_line(line))


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (``--limit 0`` or ``-3`` is a mistake)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: use a whole number of at least 1")
    return value

"""The ``--map`` options of ``%%aws_batch`` (fan-out over an iterable as one array job)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeVar

from IPython.core.magic_arguments import argument

from batchmagic.run.fanout import MapOptions

F = TypeVar("F", bound=Callable[..., Any])

MAP_ARGUMENTS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--map",), {"metavar": "ITERABLE_NAME", "dest": "map_iterable",
                  "help": "run the cell once per item of this kernel variable, as one array "
                          "job (the items are pickled to S3 once)"}),
    (("--as",), {"metavar": "ITEM_NAME", "dest": "map_as",
                 "help": "the name each item is bound to in the cell (also {{ item }} and "
                         "{{ index }} in templates)"}),
    (("--max-parallel",), {"type": int, "metavar": "K",
                           "help": "at most K children; each runs its share of the items"}),
    (("--max-children",), {"type": int, "metavar": "N",
                           "help": "confirm an array of more than 100 children"}),
    (("--retries",), {"type": int, "default": 0, "metavar": "N",
                      "help": "retry a job (each child of a --map) up to N times on "
                              "infrastructure failures (never on the cell's own exception)"}),
    (("--on-error",), {"choices": ["raise", "collect"], "default": "raise",
                       "help": "--map: raise after all items ended when some failed (the "
                               "successes are kept on the run), or collect failures silently"}),
    (("--min-success",), {"type": float, "metavar": "RATIO",
                          "help": "--map: raise only when fewer than this share succeeded"}),
]


def map_arguments(func: F) -> F:
    # magic_arguments decorators apply bottom-up: reverse so help lists them in table order.
    for flags, kwargs in reversed(MAP_ARGUMENTS):
        func = argument(*flags, **kwargs)(func)
    return func


def map_options(args: argparse.Namespace) -> MapOptions:
    return MapOptions(
        iterable=args.map_iterable,
        as_name=args.map_as,
        max_parallel=args.max_parallel,
        max_children=args.max_children,
        retries=args.retries,
        on_error=args.on_error,
        min_success=args.min_success,
    )

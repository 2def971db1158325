"""``%%aws_batch --map``: one cell over many items as one AWS Batch array job.

AWS facts this rests on (AWS Batch user guide, "Array jobs"; SubmitJob API reference):
an array job has 2-10,000 children, submitted by one SubmitJob with ``arrayProperties.size``;
each child is ``<parent id>:<index>`` and sees ``AWS_BATCH_JOB_ARRAY_INDEX`` in every container;
the parent's ``arrayProperties.statusSummary`` counts children per state; retries are per child.
Per-child parameters go through S3 (the pickled item list, indexed by the child), never through
container overrides, which are limited to 8,192 characters for the whole job.

A run of one item is a plain job (an array needs at least two children); the bootstrap then
takes child index 0.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
import jinja2.meta

from batchmagic.errors import ConfigurationError
from batchmagic.jobdef import layout
from batchmagic.run import template
from batchmagic.run.prepare import PreparedRun

MAP_FILE = f"{layout.INTERNAL_DIR}/map.pkl"
# Where each item's results sit under out/: out/.map/<index>/out/... (see runtime/mapchild.py).
MAP_DIR = ".map"
MAX_ARRAY_SIZE = 10_000
CONFIRM_ABOVE = 100  # children; more needs --max-children (no accidental 10,000-child job)
ON_ERROR = ("raise", "collect")
# Batch retries a child on infrastructure failures only, never on the cell's own exception
# (a cell that raises leaves its child SUCCEEDED: only stage-out is essential). Patterns from
# the AWS Batch user guide, "Automated job retries" (evaluateOnExit, up to 5 conditions).
INFRASTRUCTURE_RETRIES = [
    {"onStatusReason": "Host EC2*", "action": "RETRY"},
    {"onReason": "CannotPullContainerError*", "action": "RETRY"},
    {"onReason": "ResourceInitializationError*", "action": "RETRY"},
    {"onStatusReason": "*Spot*", "action": "RETRY"},
    {"onReason": "*", "action": "EXIT"},
]
MAX_RETRIES = 9  # retryStrategy.attempts is 1-10


@dataclass(frozen=True)
class MapOptions:
    """The fan-out choices of the magic line."""

    iterable: str | None = None
    as_name: str | None = None
    max_parallel: int | None = None
    max_children: int | None = None
    retries: int = 0
    on_error: str = "raise"
    min_success: float | None = None

    @property
    def enabled(self) -> bool:
        return self.iterable is not None


@dataclass(frozen=True)
class MapPlan:
    """A validated fan-out: the items, their per-item sources and the array size."""

    options: MapOptions
    items: list[Any]
    sources: list[str] | None
    children: int

    @property
    def count(self) -> int:
        return len(self.items)

    def child_of(self, index: int) -> int:
        """The array child that runs item ``index``."""
        return index % self.children

    def items_of(self, child: int) -> range:
        return range(child, self.count, self.children)


def check_retries(retries: int) -> None:
    if not 0 <= retries <= MAX_RETRIES:
        raise ConfigurationError(
            f"--retries {retries}: use 0-{MAX_RETRIES} (AWS Batch allows 1-10 attempts a job)"
        )


def check_map_options(options: MapOptions, push: Sequence[str], pull: Sequence[str]) -> None:
    """Everything about the options alone, before the iterable is even read."""
    check_retries(options.retries)
    if not options.enabled:
        for flag, value in (("--as", options.as_name), ("--max-parallel", options.max_parallel),
                            ("--max-children", options.max_children),
                            ("--min-success", options.min_success)):
            if value is not None:
                raise ConfigurationError(f"{flag} only applies to --map ITERABLE_NAME runs")
        return
    if not (options.iterable or "").isidentifier():
        raise ConfigurationError(f"--map {options.iterable!r}: not a valid Python variable name")
    if options.as_name is None:
        raise ConfigurationError(
            f"--map {options.iterable} needs --as ITEM_NAME: the name each child binds its item "
            "to, e.g. --map params --as p"
        )
    if not options.as_name.isidentifier():
        raise ConfigurationError(f"--as {options.as_name!r}: not a valid Python variable name")
    if options.as_name in push:
        raise ConfigurationError(
            f"--as {options.as_name} is also a --push name: each child binds its own item to "
            f"{options.as_name}; rename one of them"
        )
    if options.max_parallel is not None and options.max_parallel < 1:
        raise ConfigurationError(
            f"--max-parallel {options.max_parallel}: at least 1 child must run"
        )
    if options.max_children is not None and not 1 <= options.max_children <= MAX_ARRAY_SIZE:
        raise ConfigurationError(f"--max-children: use 1-{MAX_ARRAY_SIZE:,}")
    if options.on_error not in ON_ERROR:
        raise ConfigurationError(f"--on-error {options.on_error!r}: use raise or collect")
    if options.min_success is not None and not 0.0 < options.min_success <= 1.0:
        raise ConfigurationError(
            f"--min-success {options.min_success}: a share of items above 0 and at most 1, "
            "e.g. 0.9"
        )


def read_items(options: MapOptions, namespace: Mapping[str, Any]) -> list[Any]:
    """The kernel's iterable as a list, each item checked to pickle."""
    name = options.iterable or ""
    if name not in namespace:
        raise ConfigurationError(f"--map {name}: not defined in the kernel; define it first")
    value = namespace[name]
    if isinstance(value, (str, bytes)):
        raise ConfigurationError(
            f"--map {name}: is a {type(value).__name__}; map over a list of items instead "
            f"(e.g. [{name}] for a single one)"
        )
    if not isinstance(value, Iterable):
        kind = type(value).__name__
        article = "an" if kind[:1].lower() in "aeiou" else "a"
        raise ConfigurationError(
            f"--map {name}: {article} {kind} is not iterable; use a list, range, dict or "
            "generator of items"
        )
    items = list(value.items()) if isinstance(value, dict) else list(value)
    if not items:
        raise ConfigurationError(f"--map {name} is empty: there is nothing to run")
    for index, item in enumerate(items):
        try:
            pickle.dumps(item, protocol=4)
        except Exception as error:  # pickling raises many types: report any of them
            raise ConfigurationError(
                f"--map {name}: item {index} cannot be pickled ({type(error).__name__}: "
                f"{error}); map over plain data (numbers, strings, dicts, paths)"
            ) from None
    return items


def array_size(options: MapOptions, count: int) -> int:
    """How many children: one per item, or ``--max-parallel`` children sharing the items."""
    if options.max_parallel is not None:
        return min(count, options.max_parallel)
    if count > MAX_ARRAY_SIZE:
        raise ConfigurationError(
            f"--map {options.iterable}: {count:,} items, but an array job has at most "
            f"{MAX_ARRAY_SIZE:,} children; add --max-parallel K (each child then runs its "
            "share of the items)"
        )
    return count


def check_child_count(options: MapOptions, children: int) -> None:
    limit = options.max_children if options.max_children is not None else CONFIRM_ABOVE
    if children > limit:
        raise ConfigurationError(
            f"--map {options.iterable} would start {children:,} children (more than "
            f"{limit:,}); confirm with --max-children {children} or share the items with "
            f"--max-parallel K"
        )


def _uses_item(source: str) -> bool:
    try:
        names = jinja2.meta.find_undeclared_variables(jinja2.Environment().parse(source))
    except jinja2.TemplateSyntaxError:
        return False  # prepare() already reported template errors
    return bool(names & {"item", "index"})


def render_items(raw_source: str, prepared: PreparedRun, items: list[Any],
                 base_context: Mapping[str, Any],
                 indices: Sequence[int] | None = None) -> list[str] | None:
    """Each item's own rendering of the cell, when the template uses ``item``/``index``
    (``indices``: the items' original positions, for a retry of some of them)."""
    if not prepared.settings.template or not _uses_item(raw_source):
        return None
    sources = []
    for index, item in zip(indices or range(len(items)), items, strict=True):
        rendered = template.render_cell(raw_source, {**base_context, "item": item,
                                                      "index": index})
        template.check_python(rendered)
        sources.append(rendered)
    return sources


def plan_map(options: MapOptions, items: list[Any], sources: list[str] | None) -> MapPlan:
    children = array_size(options, len(items))
    check_child_count(options, children)
    return MapPlan(options=options, items=items, sources=sources, children=children)


def with_map_blob(prepared: PreparedRun, plan: MapPlan) -> PreparedRun:
    """The prepared run plus the pickled items (uploaded once, read by every child)."""
    data = pickle.dumps({"items": plan.items, "sources": plan.sources}, protocol=4)
    return dataclasses.replace(prepared, blobs={**prepared.blobs, MAP_FILE: data})


def map_environment(plan: MapPlan, output_patterns: Sequence[str]) -> dict[str, str]:
    """The main container's map settings (read by runtime/mapchild.py)."""
    return {
        "BATCHMAGIC_MAP_AS": plan.options.as_name or "",
        "BATCHMAGIC_MAP_CHILDREN": str(plan.children),
        "BATCHMAGIC_MAP_OUTPUTS": json.dumps(layout.output_filters(output_patterns)),
    }


def apply_to_payload(payload: dict[str, Any], plan: MapPlan) -> dict[str, Any]:
    """SubmitJob for the array: the size, and retries of infrastructure failures."""
    payload = dict(payload)
    if plan.children > 1:
        payload["arrayProperties"] = {"size": plan.children}
    return with_retries(payload, plan.options.retries)


def with_retries(payload: dict[str, Any], retries: int) -> dict[str, Any]:
    if retries:
        payload = {**payload, "retryStrategy": {"attempts": retries + 1,
                                                "evaluateOnExit": INFRASTRUCTURE_RETRIES}}
    return payload

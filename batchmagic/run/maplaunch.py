"""From a prepared ``--map`` run to a submitted array job and its handle."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from batchmagic.aws.clients import AwsTarget
from batchmagic.aws.progress import ProgressCallback
from batchmagic.ledger import Ledger
from batchmagic.run.fanout import (
    MAP_DIR,
    MapPlan,
    apply_to_payload,
    map_environment,
    with_map_blob,
)
from batchmagic.run.maprun import Binder, MapRun
from batchmagic.run.prepare import PreparedRun
from batchmagic.run.submit import submit_prepared
from batchmagic.run.view import MapDisplay

Retry = Callable[[MapRun, list[int]], MapRun]


def staged_for_map(prepared: PreparedRun, plan: MapPlan) -> PreparedRun:
    """The run as the array job sees it: the items in S3, stage-out copying ``.map/`` (each
    item's results and files), the user's --outputs patterns applied per item by the child."""
    staged = with_map_blob(prepared, plan)
    return dataclasses.replace(
        staged,
        options=dataclasses.replace(prepared.options, outputs=(f"{MAP_DIR}/*",)),
        environment={**prepared.environment,
                     **map_environment(plan, prepared.options.outputs)},
    )


def launch_map(
    prepared: PreparedRun,
    plan: MapPlan,
    target: AwsTarget,
    display: MapDisplay,
    *,
    bind: Binder | None = None,
    ledger: Ledger | None = None,
    where: Mapping[str, str | None] | None = None,
    retry: Retry | None = None,
    indices: list[int] | None = None,
    per_item_dirs: bool | None = None,
    show_progress: ProgressCallback | None = None,
) -> MapRun:
    """Upload, submit one array job (one plain job for a single item), record it, follow it."""
    clients, record = submit_prepared(staged_for_map(prepared, plan), target,
                                      adjust=lambda payload: apply_to_payload(payload, plan),
                                      where=where, show_progress=show_progress)
    record = dataclasses.replace(
        record, outputs=prepared.options.outputs,
        size=f"{record.size}; {plan.count} items on {plan.children} children")
    if ledger is not None:
        ledger.record(record)
    return MapRun(record, clients, plan, display, bind=bind, ledger=ledger, retry=retry,
                  indices=indices, per_item_dirs=per_item_dirs).start()

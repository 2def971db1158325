"""The shared state of one setup run and the helpers every step uses to report a resource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from batchmagic.aws.clients import AwsClients
from batchmagic.provision import resources as res
from batchmagic.provision.report import (
    CREATED,
    UPDATED,
    WOULD_CREATE,
    WOULD_UPDATE,
    ResourceResult,
)

Report = Callable[[ResourceResult], None]


class SetupContext:
    """One setup run: clients, names, dry-run flag, and the results reported so far."""

    def __init__(self, clients: AwsClients, names: res.Names, region: str, dry_run: bool,
                 report: Report | None, timeout: float) -> None:
        self.clients = clients
        self.names = names
        self.region = region
        self.dry_run = dry_run
        self.report = report
        self.timeout = timeout
        self.results: list[ResourceResult] = []
        self.account = ""

    def emit(self, kind: str, name: str, action: str, arn: str = "", detail: str = "") -> None:
        result = ResourceResult(kind, name, action, arn, detail)
        self.results.append(result)
        if self.report is not None:
            self.report(result)

    def new(self, action: str) -> str:
        """The action for a resource that is missing (or needs an update)."""
        if action == UPDATED:
            return WOULD_UPDATE if self.dry_run else UPDATED
        return WOULD_CREATE if self.dry_run else CREATED

    def ours(self, found_tags: Any) -> bool:
        return res.is_ours(found_tags, self.names.name)

    def foreign(self, found_tags: Any) -> str:
        return "" if self.ours(found_tags) else "not created by this setup; teardown keeps it"

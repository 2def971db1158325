"""The Batch backend: resources, jobs and the runner that executes them."""

from __future__ import annotations

import os
from typing import Any

from batchmagic.emulator.jobs import Jobs
from batchmagic.emulator.runner import JobRunner
from batchmagic.emulator.validation import check_tags


class BatchBackend(Jobs):
    """All Batch state of one emulator, and its job runner."""

    def __init__(self, min_timeout_s: int | None = None) -> None:
        super().__init__()
        if min_timeout_s is None:
            min_timeout_s = int(os.environ.get("BATCHMAGIC_EMULATOR_MIN_TIMEOUT", "60"))
        self.min_timeout_s = min_timeout_s

    def start(self, endpoint_url: str) -> None:
        self.runner = JobRunner(endpoint_url, self.lock, self.queue_ready)
        self.runner.sink("us-east-1")  # load moto's logs backend now, not on the first job

    def shutdown(self) -> None:
        self.runner.shutdown()

    def list_tags_for_resource(self, *, resource_arn: str) -> dict[str, Any]:
        with self.lock:
            return {"tags": dict(self.tags_of(resource_arn))}

    def tag_resource(self, *, resource_arn: str, tags: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            current = self.tags_of(resource_arn)
            current.update(check_tags({**current, **check_tags(tags)}))
        return {}

    def untag_resource(self, *, resource_arn: str, tag_keys: list[str]) -> dict[str, Any]:
        with self.lock:
            tags = self.tags_of(resource_arn)
            for key in tag_keys:
                tags.pop(key, None)
        return {}

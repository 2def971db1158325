"""The Batch backend: resources, jobs and the runner that executes them."""

from __future__ import annotations

import os

from batchmagic.emulator.jobs import Jobs
from batchmagic.emulator.runner import JobRunner


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

    def list_tags(self, arn: str) -> dict[str, str]:
        with self.lock:
            return dict(self.tags_of(arn))

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        with self.lock:
            self.tags_of(arn).update(tags)

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        with self.lock:
            tags = self.tags_of(arn)
            for key in keys:
                tags.pop(key, None)

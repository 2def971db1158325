"""AWS Batch state and operations (in progress)."""

from __future__ import annotations

from typing import Any

from batchmagic.emulator.errors import BatchError


class BatchBackend:
    def start(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url

    def shutdown(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        def handler(_: dict[str, Any]) -> dict[str, Any]:
            raise BatchError(f"{name} is not implemented yet")
        return handler

    def list_tags(self, arn: str) -> dict[str, str]:
        return {}

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        pass

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        pass

"""AWS-shaped errors of the Batch layer (rest-json: ``x-amzn-ErrorType`` header + JSON body)."""

from __future__ import annotations


class BatchError(Exception):
    """An error returned to the client; botocore reads ``code`` from the header and body."""

    def __init__(self, message: str, code: str = "ClientException", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


def client_error(message: str) -> BatchError:
    """AWS Batch reports every request problem as a ClientException with HTTP 400."""
    return BatchError(message)

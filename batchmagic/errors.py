"""The one error family users see. Each message is meant to be read by a person in a notebook."""

from __future__ import annotations


class BatchMagicError(Exception):
    """Root of every error batchmagic raises on purpose.

    One that an AWS call caused (``batchmagic.aws.errors``) is raised from botocore's error and
    keeps what it said: ``code`` (AWS's error code), ``operation`` (the call), and whether trying
    again later may succeed (``throttled``: AWS asked to slow down; ``transient``: throttling, a
    server error or a broken connection). Other errors leave them empty.
    """

    code: str = ""
    operation: str = ""
    throttled: bool = False
    transient: bool = False

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the message is the whole story.
        return [f"{type(self).__name__}: {self}"]


class ConfigurationError(BatchMagicError):
    """A bad option, setting, size, template or local file: found before anything is uploaded."""


class StagingError(BatchMagicError):
    """Uploading inputs to S3 or downloading outputs from it failed."""


class SubmissionError(BatchMagicError):
    """AWS refused to register the job definition, create the queue or submit the job."""


class AwsError(BatchMagicError):
    """An AWS call failed; the message says which call, why, and what usually fixes it."""

    def __init__(self, message: str, *, code: str = "", operation: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.operation = operation


class JobFailedError(BatchMagicError):
    """The job ran and the cell (or the job) failed; ``run`` holds everything that came back."""

    def __init__(self, message: str, run: object = None) -> None:
        super().__init__(message)
        self.run = run


def interrupted(message: str) -> KeyboardInterrupt:
    """A KeyboardInterrupt that IPython reports as one line, not a traceback through batchmagic."""
    error = KeyboardInterrupt(message)
    error._render_traceback_ = lambda: [f"KeyboardInterrupt: {message}"]  # type: ignore[attr-defined]
    return error

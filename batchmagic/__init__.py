"""batchmagic: run a notebook cell as a three-container AWS Batch job.

``%load_ext batchmagic`` registers ``%%aws_batch`` and its companion magics.
"""

from __future__ import annotations

from typing import Any

from batchmagic.errors import (
    AwsError,
    BatchMagicError,
    ConfigurationError,
    JobFailedError,
    StagingError,
    SubmissionError,
)

__version__ = "0.1.0"

__all__ = [
    "AwsError",
    "BatchMagicError",
    "ConfigurationError",
    "JobFailedError",
    "StagingError",
    "SubmissionError",
    "load_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    from batchmagic.notebook.early import start_local_emulator

    start_local_emulator(ipython)  # without AWS settings: while the magics are imported
    from batchmagic.notebook.magics import register

    register(ipython)

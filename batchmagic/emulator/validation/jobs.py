"""SubmitJob, DescribeJobs and ListJobs limits that are not about the task itself."""

from __future__ import annotations

from batchmagic.emulator.errors import BatchError

MAX_ATTEMPTS = 10
MIN_ARRAY, MAX_ARRAY = 2, 10_000
MAX_DESCRIBE_JOBS = 100


def check_timeout(seconds: int | None, minimum: int) -> None:
    """attemptDurationSeconds: at least 60 on AWS (lowered for tests, see run_emulator)."""
    if seconds is not None and seconds < minimum:
        raise BatchError(f"timeout.attemptDurationSeconds must be at least {minimum} seconds.")


def check_attempts(attempts: int) -> None:
    if not 1 <= attempts <= MAX_ATTEMPTS:
        raise BatchError(f"retryStrategy.attempts must be between 1 and {MAX_ATTEMPTS}.")


def check_array_size(size: int | None) -> None:
    if size is not None and not MIN_ARRAY <= size <= MAX_ARRAY:
        raise BatchError("Array job size must be between 2 and 10,000.")


def check_describe_count(count: int) -> None:
    if count > MAX_DESCRIBE_JOBS:
        raise BatchError(f"A maximum of {MAX_DESCRIBE_JOBS} job IDs can be described at once.")

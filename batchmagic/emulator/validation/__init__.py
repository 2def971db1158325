"""Every request rule of the emulator's AWS Batch, with AWS's wording where it is known.

The emulator is an independent check of AWS's rules: it keeps its own copies of limits that
the product also knows (job-name pattern, Fargate sizes), and the README's rules table names
the source of each rule.
"""

from __future__ import annotations

from batchmagic.emulator.validation.compute import (
    check_compute_environment,
    check_queue_environments,
    check_time_limit_actions,
    is_fargate_environment,
    queue_status,
    queue_type,
)
from batchmagic.emulator.validation.definitions import (
    FARGATE_SIZES,
    check_containers,
    check_fargate_size,
    check_job_definition,
    check_task,
)
from batchmagic.emulator.validation.jobs import (
    check_array_size,
    check_attempts,
    check_describe_count,
    check_timeout,
)
from batchmagic.emulator.validation.names import (
    check_job_name,
    check_name,
    check_request_size,
    check_tags,
    propagated_tags_failure,
)
from batchmagic.emulator.validation.platform import overrides_failure

__all__ = [
    "FARGATE_SIZES", "check_array_size", "check_attempts", "check_compute_environment",
    "check_containers", "check_describe_count", "check_fargate_size", "check_job_definition",
    "check_job_name", "check_name", "check_queue_environments", "check_request_size",
    "check_tags", "check_task", "check_time_limit_actions", "check_timeout",
    "is_fargate_environment", "overrides_failure", "propagated_tags_failure", "queue_status",
    "queue_type",
]

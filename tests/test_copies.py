"""Facts kept twice on purpose agree: the emulator checks AWS's rules on its own, and the
runtime bootstrap runs in the container with the standard library only."""

from __future__ import annotations

import inspect
from pathlib import PurePosixPath

import pytest

from batchmagic.aws.job import TERMINAL_STATUSES, JobStatus
from batchmagic.emulator import jobs, logsink, models, validation
from batchmagic.emulator.errors import BatchError
from batchmagic.errors import ConfigurationError
from batchmagic.jobdef import layout, sizes, spec
from batchmagic.runtime import bootstrap
from batchmagic.settings import LOG_GROUP

JOB_NAMES = ["a", "A1", "9-lives", "x" * 128, "x" * 129, "-leading", "_leading", "has space",
             "dot.name", "under_score", "", "ünïcode", "tab\t"]


@pytest.mark.parametrize("name", JOB_NAMES)
def test_the_job_name_pattern_is_the_same(name: str) -> None:
    def client_accepts() -> bool:
        try:
            spec.submit_payload(spec=spec.JobSpec("img", "side", "fargate", 1, 2048, "r"),
                                job_name=name, job_queue="q", job_definition="d",
                                in_uri="s3://b/in/", out_uri="s3://b/out/", output_patterns=(),
                                pull_names=(), environment={}, tags={})
        except ConfigurationError:
            return False
        return True

    def emulator_accepts() -> bool:
        try:
            validation.check_job_name(name)
        except BatchError:
            return False
        return True

    assert client_accepts() == emulator_accepts()


def test_the_fargate_sizes_are_the_same() -> None:
    assert {cpu: set(memory) for cpu, memory in sizes.FARGATE_MEMORY.items()} == {
        cpu: set(memory) for cpu, memory in validation.FARGATE_SIZES.items()}


def test_the_ephemeral_storage_bounds_are_the_same() -> None:
    from batchmagic.emulator.validation import platform

    assert (platform.EPHEMERAL_MIN_GIB, platform.EPHEMERAL_MAX_GIB) == (
        spec.EPHEMERAL_MIN_GIB, spec.EPHEMERAL_MAX_GIB)


def test_the_job_statuses_are_the_same() -> None:
    assert tuple(status.value for status in JobStatus) == models.STATUSES
    assert set(models.TERMINAL) == TERMINAL_STATUSES


def test_the_minimum_timeout_is_the_same() -> None:
    assert jobs.Jobs.min_timeout_s == layout.MIN_TIMEOUT_SECONDS


def test_the_log_group_is_the_same() -> None:
    assert logsink.DEFAULT_LOG_GROUP == LOG_GROUP


def test_the_bootstrap_uses_the_layouts_names() -> None:
    assert bootstrap.INTERNAL_DIR == layout.INTERNAL_DIR
    assert bootstrap.OUTPUT_SUBDIR == layout.OUTPUT_SUBDIR
    assert bootstrap.CONTAINER_WORKDIR == layout.WORK_DIR
    source = inspect.getsource(bootstrap)
    for path in (layout.CELL_FILE, layout.PUSH_FILE, layout.RESULT_FILE, layout.PULL_FILE):
        assert PurePosixPath(path).parent.name == layout.INTERNAL_DIR
        assert f'"{PurePosixPath(path).name}"' in source, path

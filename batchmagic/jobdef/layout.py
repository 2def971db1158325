"""The fixed shape of every batchmagic job: where the work dir is, what the containers are called.

One home for these names: the job definition builder, the sizes, the staging code and the run
handle all read them from here. The runtime bootstrap (stdlib only, shipped into the container)
and the emulator keep their own copies on purpose; tests check that the copies agree.
"""

from __future__ import annotations

from collections.abc import Iterable

WORK_DIR = "/work"
INTERNAL_DIR = ".batchmagic"
OUTPUT_SUBDIR = ".outputs"
OUTPUT_DIR = f"{WORK_DIR}/{OUTPUT_SUBDIR}"
VOLUME_NAME = "work"

STAGE_IN = "stage-in"
MAIN = "main"
STAGE_OUT = "stage-out"
CONTAINERS = (STAGE_IN, MAIN, STAGE_OUT)

# Batch refuses a job timeout (attemptDurationSeconds) under 60 seconds
# (API reference: JobTimeout.attemptDurationSeconds, "The minimum value for the timeout is 60").
MIN_TIMEOUT_SECONDS = 60

# batchmagic's own files in the work dir (the bootstrap writes result.json and pull.pkl).
CELL_FILE = f"{INTERNAL_DIR}/cell.py"
PUSH_FILE = f"{INTERNAL_DIR}/push.pkl"
RESULT_FILE = f"{INTERNAL_DIR}/result.json"
PULL_FILE = f"{INTERNAL_DIR}/pull.pkl"

# The job's setup phase (runtime/envsetup.py keeps its own copy of these names): what to install
# (env.json), a cached environment to restore (env.tar.gz, copied in by the kernel), and a built
# one with its lock file under env/ (uploaded by stage-out, filed in the cache by the kernel).
ENV_SPEC_FILE = f"{INTERNAL_DIR}/env.json"
ENV_ARCHIVE_FILE = f"{INTERNAL_DIR}/env.tar.gz"
ENV_BUILD_DIR = f"{INTERNAL_DIR}/env"
ENV_BUILD_ARCHIVE_NAME = "build.tar.gz"
ENV_LOCK_NAME = "lock.json"
# result.json's exception types when the setup phase failed (the cell never ran).
SETUP_ERROR_TYPES = ("batchmagic_envsetup.SetupError", "batchmagic_versions.PickleMismatch")


def output_filters(patterns: Iterable[str]) -> list[str]:
    """The AWS CLI ``--include`` filters of the user's ``--outputs`` patterns.

    The CLI matches files, never directories, so a directory name alone (``results`` or
    ``results/``) would bring nothing back: a pattern without wildcards is also taken as a
    directory, everything under it (``results/*``; ``*`` also matches ``/``).
    """
    filters: list[str] = []
    for pattern in patterns:
        if any(char in pattern for char in "*?["):
            filters.append(pattern)
        else:
            name = pattern.rstrip("/")
            filters += [name, f"{name}/*"]
    return filters

"""What users name and set on a job: its name, and the environment variables of the cell."""

from __future__ import annotations

import re
from collections.abc import Sequence

from batchmagic.errors import ConfigurationError

# Batch job names: 1-128 letters, digits, hyphens, underscores; first one alphanumeric
# (SubmitJob, jobName). The emulator checks the same rule on its own (tests/test_copies.py).
JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z")

# Credentials must come from the task role, never from the environment we send.
CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def sanitize_job_name(text: str) -> str:
    """``text`` turned into a valid Batch job name (invalid characters become '-')."""
    name = re.sub(r"[^A-Za-z0-9_-]", "-", text).lstrip("-_")[:128]
    return name or "batchmagic"


def validate_env(pairs: Sequence[str]) -> dict[str, str]:
    """Parse ``KEY=VALUE`` items (ConfigurationError for bad names and for credentials)."""
    env: dict[str, str] = {}
    for item in pairs:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigurationError(f"--env {item!r}: expected KEY=VALUE.")
        if not ENV_NAME.match(key):
            raise ConfigurationError(
                f"--env {item!r}: {key!r} is not a valid variable name (letters, digits and "
                "'_', not starting with a digit)."
            )
        if key.upper() in CREDENTIAL_ENV:
            raise ConfigurationError(
                f"--env {key}: AWS credentials are not passed to jobs. The containers get "
                "their credentials from the task role (--task-role); give that role the "
                "permissions the cell needs."
            )
        if key.upper().startswith("AWS_BATCH"):
            raise ConfigurationError(f"--env {key}: names starting with AWS_BATCH are reserved "
                                     "by AWS Batch.")
        if key.startswith("BATCHMAGIC_"):
            raise ConfigurationError(f"--env {key}: names starting with BATCHMAGIC_ are set by "
                                     "batchmagic itself.")
        env[key] = value
    return env

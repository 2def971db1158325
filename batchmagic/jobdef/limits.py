"""Limits AWS Batch enforces on a SubmitJob request, checked before anything is uploaded.

Each of these fails late on AWS, after the inputs are in S3 or even after the job was accepted:

- Tags (botocore's Batch model, ``TagKey``/``TagValue`` and the ``TagResource`` reference):
  keys 1-128 characters, values 0-256, only letters, digits, spaces and ``+ - = . _ : / @``;
  no key starting with ``aws:``; at most 50 tags. With ``propagateTags`` "if the total number
  of combined tags from the job and job definition is over 50, the job is moved to the FAILED
  state" (botocore's Batch model, ``SubmitJob.propagateTags``).
- Container overrides: ECS takes at most 8,192 characters of container overrides; Batch passes
  the job's per-container overrides there and adds its own ``AWS_BATCH_*`` variables. Over the
  limit, SubmitJob succeeds and the job FAILS with "Container Overrides length must be at most
  8192" (public reports: Netflix/metaflow#1482, convox/rack#1906).
- "Maximum job payload size (for SubmitJob API operations): 30 KiB" (AWS Batch user guide,
  *Service quotas*, ``service_limits.html``).
- Override environment names: "Environment variables cannot start with AWS_BATCH. This naming
  convention is reserved for variables that Batch sets." (botocore's Batch model,
  ``TaskContainerOverrides.environment``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from batchmagic.errors import ConfigurationError

MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
TAG_PUNCTUATION = frozenset(" +-=._:/@")
MAX_OVERRIDES_CHARS = 8192
# What Batch adds to each container's overrides: AWS_BATCH_JOB_ID (a UUID), AWS_BATCH_JQ_NAME and
# AWS_BATCH_CE_NAME (names of up to 128 characters), AWS_BATCH_JOB_ATTEMPT, as name/value JSON:
# about 450 characters with the longest names, per container.
BATCH_ADDED_CHARS_PER_CONTAINER = 450
MAX_BODY_BYTES = 30 * 1024
RESERVED_ENV_PREFIX = "AWS_BATCH"


def tag_charset_ok(text: str) -> bool:
    """Letters and digits (any script), spaces and ``+ - = . _ : / @``."""
    return all(c.isalnum() or c in TAG_PUNCTUATION for c in text)


def check_tags(tags: Mapping[str, str], definition_tags: Mapping[str, str],
               *, propagate: bool) -> None:
    """ConfigurationError naming the first tag AWS would refuse."""
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_TAG_KEY or not tag_charset_ok(key) or key.startswith("aws:"):
            raise ConfigurationError(
                f"tag key {key!r}: Batch allows 1-{MAX_TAG_KEY} letters, digits, spaces and "
                "+ - = . _ : / @ (not starting with aws:)")
        if len(value) > MAX_TAG_VALUE or not tag_charset_ok(value):
            raise ConfigurationError(
                f"tag {key}={value!r}: Batch allows at most {MAX_TAG_VALUE} letters, digits, "
                "spaces and + - = . _ : / @ in a tag value")
    count = len({**definition_tags, **tags}) if propagate else len(tags)
    if count > MAX_TAGS:
        raise ConfigurationError(
            f"{count} tags (job and job definition together, as propagateTags sends both to "
            f"the task); Batch allows {MAX_TAGS}")


def _chars(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def check_overrides(containers: list[dict[str, Any]]) -> None:
    """The per-container overrides fit ECS's 8,192 characters, with room for Batch's own."""
    for container in containers:
        for variable in container.get("environment") or []:
            if str(variable["name"]).startswith(RESERVED_ENV_PREFIX):
                raise ConfigurationError(
                    f"--env {variable['name']}: names starting with {RESERVED_ENV_PREFIX} are "
                    "reserved by AWS Batch")
    total = _chars(containers) + BATCH_ADDED_CHARS_PER_CONTAINER * len(containers)
    if total <= MAX_OVERRIDES_CHARS:
        return
    env = sum(_chars(v["name"]) + _chars(v["value"])
              for c in containers for v in c.get("environment") or [])
    commands = sum(_chars(c.get("command") or []) for c in containers)
    if env >= commands:
        what, fix = f"--env values total {env:,} characters", "put large values in an input file"
    else:
        what = f"the containers' commands (the --outputs patterns) total {commands:,} characters"
        fix = "use fewer, broader --outputs patterns or write results under {{ outputDir }}"
    raise ConfigurationError(
        f"{what}; Batch allows {MAX_OVERRIDES_CHARS:,} for all overrides (this run's come to "
        f"{total:,} with what Batch adds): {fix}")


def check_body(payload: Mapping[str, Any]) -> None:
    """The SubmitJob body stays under 30 KiB."""
    size = len(json.dumps(payload).encode())  # with spaces after separators: the larger count
    if size >= MAX_BODY_BYTES:
        raise ConfigurationError(
            f"the SubmitJob request would be {size:,} bytes; Batch accepts less than "
            f"{MAX_BODY_BYTES:,} (30 KiB): put large values in an input file")


def check_submission(payload: Mapping[str, Any], definition_tags: Mapping[str, str]) -> None:
    """Every limit above, for one SubmitJob request (ConfigurationError on the first broken)."""
    check_tags(payload.get("tags") or {}, definition_tags,
               propagate=bool(payload.get("propagateTags")))
    override = payload.get("ecsPropertiesOverride") or {}
    for task in override.get("taskProperties") or []:
        check_overrides(list(task.get("containers") or []))
    check_body(payload)

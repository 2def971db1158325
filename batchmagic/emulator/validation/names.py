"""Names, tags and request sizes: the rules AWS Batch applies to any resource or request.

Sources are in the emulator README's rules table; AWS's wording is kept where it is known.
"""

from __future__ import annotations

import math
import re
from typing import Any

from batchmagic.emulator.errors import BatchError

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
# AWS tagging rules: letters, digits and whitespace in any script, plus _ . : / = + - @.
_TAG_PUNCTUATION = frozenset("_.:/=+-@")
MAX_TAGS = 50
MAX_TAG_KEY, MAX_TAG_VALUE = 128, 256
# SubmitJob: "Job size must be less than 30 KiB, got 47 KiB" (a public report, see README).
MAX_JOB_BYTES = 30 * 1024
EXCEPTION = "Error executing request, Exception : "


def check_name(value: Any, what: str) -> str:
    """1-128 letters, digits, hyphens, underscores (queues, environments, job definitions)."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise BatchError(f"{EXCEPTION}{what} should match valid pattern: up to 128 letters "
                         "(uppercase and lowercase), numbers, hyphens, and underscores are "
                         "allowed.")
    return value


def check_job_name(value: Any) -> str:
    """Job names additionally start with a letter or a digit."""
    if not isinstance(value, str) or not _JOB_NAME.match(value):
        raise BatchError(f"{EXCEPTION}Job name should match valid pattern: it can contain up "
                         "to 128 letters (uppercase and lowercase), numbers, hyphens, and "
                         "underscores, and must start with a letter or number.")
    return value


def _tag_text_ok(text: str) -> bool:
    return all(c.isalnum() or c.isspace() or c in _TAG_PUNCTUATION for c in text)


def check_tags(tags: Any) -> dict[str, str]:
    """At most 50 tags; keys 1-128 and values 0-256 characters of the tag charset; keys do not
    start with ``aws:``. Returns the tags as a plain dict (empty when none)."""
    if tags is None:
        return {}
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in tags.items()):
        raise BatchError(f"{EXCEPTION}tags must be a map of strings to strings.")
    if len(tags) > MAX_TAGS:
        raise BatchError(f"1 validation error detected: Value at 'tags' failed to satisfy "
                         f"constraint: Member must have length less than or equal to {MAX_TAGS}")
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_TAG_KEY or not _tag_text_ok(key):
            raise BatchError(f"1 validation error detected: Value '{key}' at 'tags' failed to "
                             "satisfy constraint: Map keys must satisfy constraint: [Member "
                             f"must have length between 1 and {MAX_TAG_KEY}, Member must "
                             r"satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+"
                             r"\-@]*)$]")
        if key.lower().startswith("aws:"):
            raise BatchError(f"{EXCEPTION}Tag keys starting with 'aws:' are reserved for AWS "
                             f"use: {key}")
        if len(value) > MAX_TAG_VALUE or not _tag_text_ok(value):
            raise BatchError(f"1 validation error detected: Value '{value}' at 'tags' failed to "
                             "satisfy constraint: Map values must satisfy constraint: [Member "
                             f"must have length less than or equal to {MAX_TAG_VALUE}, Member "
                             r"must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/"
                             r"=+\-@]*)$]")
    return dict(tags)


def propagated_tags_failure(job_tags: dict[str, str], definition_tags: dict[str, str],
                            propagate: bool) -> str | None:
    """With propagateTags, more than 50 job + definition tags together FAIL the job after
    submit (botocore's SubmitJobRequest.propagateTags); the statusReason, or None."""
    if not propagate:
        return None
    combined = {**definition_tags, **job_tags}
    if len(combined) <= MAX_TAGS:
        return None
    return (f"The total number of combined tags from the job and job definition "
            f"({len(combined)}) is over {MAX_TAGS}")


def check_request_size(operation: str, size: int) -> None:
    """SubmitJob bodies must be under 30 KiB."""
    if operation == "SubmitJob" and size >= MAX_JOB_BYTES:
        raise BatchError(f"{EXCEPTION}Job size must be less than 30 KiB, got "
                         f"{math.ceil(size / 1024)} KiB")

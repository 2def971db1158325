"""Limits AWS enforces on a SubmitJob request, checked before anything is sent (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from batchmagic.errors import ConfigurationError
from batchmagic.jobdef.limits import (
    MAX_TAGS,
    check_body,
    check_overrides,
    check_submission,
    check_tags,
    tag_charset_ok,
)


def test_tag_charset() -> None:
    assert tag_charset_ok("batchmagic:prefix/user@host +a=b._c-d")
    assert tag_charset_ok("Größe 3")
    assert not tag_charset_ok("*.csv") and not tag_charset_ok("a,b") and not tag_charset_ok("x!")


@pytest.mark.parametrize(("tags", "message"), [
    ({"": "v"}, "tag key ''"),
    ({"k" * 129: "v"}, "tag key"),
    ({"aws:reserved": "v"}, "not starting with aws:"),
    ({"bad*key": "v"}, r"tag key 'bad\*key'"),
    ({"k": "v" * 257}, "at most 256"),
    ({"k": "a,b"}, "tag k='a,b'"),
])
def test_bad_tags(tags: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        check_tags(tags, {}, propagate=False)


def test_tag_count_includes_the_definitions_when_propagated() -> None:
    job = {f"j{i}": "v" for i in range(30)}
    definition = {f"d{i}": "v" for i in range(21)}
    check_tags(job, definition, propagate=False)
    check_tags({"k" * 128: "v" * 256}, {}, propagate=True)
    with pytest.raises(ConfigurationError, match=f"51 tags .*Batch allows {MAX_TAGS}"):
        check_tags(job, definition, propagate=True)


def _containers(env_value: str = "x", command: list[str] | None = None) -> list[dict[str, Any]]:
    return [{"name": "main", "command": command or ["python"],
             "environment": [{"name": "BIG", "value": env_value}]}]


def test_overrides_within_the_limit_pass_and_reserved_names_do_not() -> None:
    check_overrides(_containers("x" * 7000))
    with pytest.raises(ConfigurationError, match="AWS_BATCH_X: names starting with AWS_BATCH"):
        check_overrides([{"name": "main", "environment": [{"name": "AWS_BATCH_X", "value": ""}]}])


def test_oversized_overrides_name_what_is_big() -> None:
    with pytest.raises(ConfigurationError, match=r"--env values total 9,007 characters; Batch "
                       r"allows 8,192 for all overrides .*input file"):
        check_overrides(_containers("x" * 9000))
    with pytest.raises(ConfigurationError, match=r"containers' commands .*--outputs patterns"):
        check_overrides(_containers("x", ["--include"] * 2000))


def test_body_size() -> None:
    check_body({"a": "x" * 30000})
    with pytest.raises(ConfigurationError, match=r"would be 30,7.. bytes; Batch accepts less than "
                       r"30,720"):
        check_body({"a": "x" * 30720})


def test_a_submission_is_checked_whole() -> None:
    payload = {"tags": {"k": "v"}, "propagateTags": True,
               "ecsPropertiesOverride": {"taskProperties": [{"containers": _containers()}]}}
    check_submission(payload, {})
    payload["ecsPropertiesOverride"]["taskProperties"][0]["containers"] = _containers("x" * 9000)
    with pytest.raises(ConfigurationError, match="--env values total"):
        check_submission(payload, {})
    with pytest.raises(ConfigurationError, match="tag k='a,b'"):
        check_submission({"tags": {"k": "a,b"}}, {})
    with pytest.raises(ConfigurationError, match="SubmitJob request would be"):
        check_submission({"pad": "x" * 31000}, {})

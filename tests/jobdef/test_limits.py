"""The limits AWS Batch enforces on SubmitJob, checked without any AWS call."""

from __future__ import annotations

import pytest

from batchmagic.errors import ConfigurationError
from batchmagic.jobdef.limits import check_body, check_overrides, check_tags, tag_charset_ok


@pytest.mark.parametrize("value", ["results/*.parquet", "a,b", "x;y", "50%", "q?", "[1]"])
def test_globs_and_lists_are_not_tag_values(value: str) -> None:
    assert not tag_charset_ok(value)
    with pytest.raises(ConfigurationError, match="letters, digits"):
        check_tags({"batchmagic:outputs": value}, {}, propagate=True)


def test_allowed_tag_characters() -> None:
    assert tag_charset_ok("batchmagic/alice.b_c/20240101-abc:1 +=@ é")
    check_tags({"k": "v" * 256, "x" * 128: ""}, {}, propagate=True)


def test_tag_lengths_and_count() -> None:
    with pytest.raises(ConfigurationError, match="256"):
        check_tags({"k": "v" * 257}, {}, propagate=True)
    with pytest.raises(ConfigurationError, match="1-128"):
        check_tags({"k" * 129: "v"}, {}, propagate=True)
    with pytest.raises(ConfigurationError, match="aws:"):
        check_tags({"aws:x": "v"}, {}, propagate=True)
    job = {f"k{i}": "v" for i in range(50)}
    check_tags(job, {"k0": "from the definition"}, propagate=True)  # same key: counted once
    with pytest.raises(ConfigurationError, match=r"51 tags .*allows 50"):
        check_tags(job, {"batchmagic:managed": "true"}, propagate=True)
    check_tags(job, {"batchmagic:managed": "true"}, propagate=False)


def _main(env: dict[str, str]) -> list[dict[str, object]]:
    return [{"name": "main", "command": ["python", "b.py"],
             "environment": [{"name": k, "value": v} for k, v in env.items()]}]


def test_override_characters_counted_with_room_for_batch() -> None:
    check_overrides(_main({"SMALL": "x" * 6000}))
    with pytest.raises(ConfigurationError) as caught:
        check_overrides(_main({"BIG": "x" * 9000}))
    message = str(caught.value)
    assert message.startswith("--env values total 9,")
    assert "Batch allows 8,192 for all overrides" in message
    assert message.endswith("put large values in an input file")


def test_override_env_names_may_not_start_with_aws_batch() -> None:
    with pytest.raises(ConfigurationError, match="AWS_BATCH_JOB_ID: names starting with AWS_BATCH"):
        check_overrides(_main({"AWS_BATCH_JOB_ID": "x"}))


def test_request_body_under_30_kib() -> None:
    check_body({"jobName": "x" * (30 * 1024 - 100)})
    with pytest.raises(ConfigurationError, match="Batch accepts less than 30,720"):
        check_body({"tags": {f"k{i}": "v" * 256 for i in range(50)}, "jobName": "x" * 20000})

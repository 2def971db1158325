"""CloudWatch Logs rules moto does not enforce: FilterLogEvents by stream names is refused when
one of the streams does not exist (as AWS does), and names and a prefix together are refused."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.helpers import unique


def _group_with_stream(logs: Any) -> tuple[str, str]:
    group, stream = unique("/test/filter"), "a/main/t1"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": 1_795_000_000_000, "message": "hello"}])
    return group, stream


def test_filter_log_events_by_existing_stream_names(logs: Any) -> None:
    group, stream = _group_with_stream(logs)
    page = logs.filter_log_events(logGroupName=group, logStreamNames=[stream])
    assert [e["message"] for e in page["events"]] == ["hello"]
    assert "nextToken" not in page


def test_filter_log_events_naming_a_stream_that_does_not_exist_is_refused(logs: Any) -> None:
    group, stream = _group_with_stream(logs)
    with pytest.raises(ClientError) as refused:
        logs.filter_log_events(logGroupName=group, logStreamNames=[stream, "a/stage-out/t1"])
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "log stream does not exist" in refused.value.response["Error"]["Message"]


def test_filter_log_events_with_names_and_a_prefix_is_refused(logs: Any) -> None:
    group, stream = _group_with_stream(logs)
    with pytest.raises(ClientError) as refused:
        logs.filter_log_events(logGroupName=group, logStreamNames=[stream],
                               logStreamNamePrefix="a/")
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"

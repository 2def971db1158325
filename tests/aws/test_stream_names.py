"""Every container's log stream from the first one DescribeJobs reports (awslogs' format)."""

from __future__ import annotations

from batchmagic.aws.job import ContainerState
from batchmagic.aws.streamnames import job_log_streams


def _state(name: str, stream: str | None = None) -> ContainerState:
    return ContainerState(name=name, exit_code=None, reason=None, log_stream=stream)


def test_the_streams_of_containers_not_started_yet_are_derived_from_the_first() -> None:
    containers = [_state("stage-in", "jd-1/stage-in/abc123"), _state("main"),
                  _state("stage-out")]
    assert job_log_streams(containers) == {"jd-1/stage-in/abc123": "stage-in",
                                           "jd-1/main/abc123": "main",
                                           "jd-1/stage-out/abc123": "stage-out"}


def test_reported_names_win_and_a_prefix_with_slashes_is_kept() -> None:
    containers = [_state("stage-in", "team/jd/stage-in/t1"), _state("main", "other/main/t1"),
                  _state("stage-out")]
    assert job_log_streams(containers) == {"team/jd/stage-in/t1": "stage-in",
                                           "other/main/t1": "main",
                                           "team/jd/stage-out/t1": "stage-out"}


def test_nothing_is_derived_from_a_name_in_another_format() -> None:
    assert job_log_streams([_state("stage-in", "custom-stream"), _state("main")]) == {
        "custom-stream": "stage-in"}
    assert job_log_streams([_state("main"), _state("stage-out")]) == {}

"""The log streams of a job's containers, known before the containers start.

A job's containers start one after another (stage-in, then main, then stage-out: ``dependsOn``),
and DescribeJobs reports each container's ``logStreamName`` only once it has started. Following
the job with one live tail session needs every name as soon as the first is known, so the others
are derived from it. The awslogs log driver names a stream
``prefix-name/container-name/ecs-task-id`` (Amazon ECS developer guide, "Using the awslogs log
driver", option ``awslogs-stream-prefix``; AWS Batch uses the job definition's name as the prefix
unless the container's log configuration sets one): the containers of one task share the task id,
and, in batchmagic's job definitions, the prefix.

A derived name is only a guess until DescribeJobs reports it: a stream reported under another
name is followed as it is reported (see :class:`~batchmagic.aws.livetail.LiveTails`), and a
derived stream that never appears is harmless (it has no events).
"""

from __future__ import annotations

from collections.abc import Sequence

from batchmagic.aws.job import ContainerState


def _template(containers: Sequence[ContainerState]) -> tuple[str, str] | None:
    """(prefix, task id) of the first reported stream that reads ``prefix/container/task``."""
    for state in containers:
        if not state.log_stream:
            continue
        head, slash, task = state.log_stream.rpartition("/")
        prefix, slash2, name = head.rpartition("/")
        if slash and slash2 and prefix and task and name == state.name:
            return prefix, task
    return None


def job_log_streams(containers: Sequence[ContainerState]) -> dict[str, str]:
    """Stream name -> container, for every container of the job: as DescribeJobs reports it,
    or derived from a reported name in the awslogs driver's format (nothing for a container
    when no reported name has that format)."""
    template = _template(containers)
    streams: dict[str, str] = {}
    for state in containers:
        if state.log_stream:
            streams[state.log_stream] = state.name
        elif template is not None:
            streams[f"{template[0]}/{state.name}/{template[1]}"] = state.name
    return streams

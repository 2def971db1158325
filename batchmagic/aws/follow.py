"""Following one job to its end: its status polled (:meth:`BatchJob.wait`) while its
containers' log lines stream in (:class:`LiveJobWatcher`: live tails, polling as the fallback).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from batchmagic.aws.backoff import AgePacing, Pacing
from batchmagic.aws.job import DESCRIBE_BACKOFF, BatchJob, JobSnapshot
from batchmagic.aws.livetail import LiveTails
from batchmagic.aws.logs import LogLine, LogPoller, Tail, drain_tails
from batchmagic.aws.streamnames import job_log_streams
from batchmagic.errors import AwsError
from batchmagic.settings import LOG_GROUP

OnContainerLines = Callable[[str, list[LogLine]], None]

# A run's status is asked for when the job's age has grown by half since the last ask (0.1 s
# apart at first, 15 s on a long job: 4 DescribeJobs a minute), however often the job changed as
# it started: the lines come through the live tail, and the bootstrap's last line wakes the
# poll for the job's end (that wake restarts the pace, as stage-out then ends within seconds).
FOLLOW_PACING = AgePacing(first=0.1, most=15.0, fraction=1.0)


class LiveJobWatcher:
    """Follows a job's container logs, fed with the job's snapshots: every container's stream
    with live tails as soon as it appears; if live tailing fails (no permission, not
    supported), by polling for the rest of the job without losing or repeating a line.
    ``on_lines(container, lines)`` runs on a tail's thread. ``streaming_client`` is the Logs
    client for StartLiveTail sessions (default: ``AwsClients.logs_streaming``)."""

    def __init__(self, job: BatchJob, poller: LogPoller, on_lines: OnContainerLines,
                 *, log_group: str = LOG_GROUP, streaming_client: Any = None) -> None:
        self._on_lines = on_lines
        self._budget = job.job_id
        self._containers: dict[str, str] = {}  # stream (reported or derived) -> container
        self._reported: list[str] = []  # streams DescribeJobs reported (they exist)
        self.live = LiveTails(job.clients, log_group, self._deliver,
                              on_failure=lambda _error: self._poll(list(self._reported)),
                              client=streaming_client)
        self._poller = poller
        self._log_group = log_group
        self._polling: dict[str, Tail] = {}
        self._polling_lock = threading.Lock()

    def _deliver(self, stream: str, lines: list[LogLine]) -> None:
        self._on_lines(self._containers.get(stream, stream), lines)

    def update(self, snapshot: JobSnapshot) -> None:
        # Live: every container's stream as soon as one is known (one session for the job).
        # Polled: the streams DescribeJobs reported (polling one that is not there yet costs
        # a call each time).
        for stream, container in job_log_streams(snapshot.containers).items():
            self._containers.setdefault(stream, container)
        for state in snapshot.containers:
            if state.log_stream and state.log_stream not in self._reported:
                self._reported.append(state.log_stream)
        if snapshot.created_at is not None and self.live.not_before_ms is None:
            # No event of the job is stamped before it was created; five minutes are left for
            # the clocks that stamp them (the awslogs driver's hosts) to differ from Batch's.
            self.live.not_before_ms = int(snapshot.created_at.timestamp() * 1000) - 300_000
        if self.live.failed is None:
            try:
                self.live.follow(list(self._containers), existing=self._reported)
            except AwsError as error:
                self.live.fail(error)
        if self.live.failed is not None:
            self._poll(list(self._reported))

    def _poll(self, streams: list[str]) -> None:
        with self._polling_lock:
            for stream in streams:
                if stream not in self._polling:
                    self._polling[stream] = self._poll_tail(stream)

    def _poll_tail(self, stream: str) -> Tail:
        source = object()
        self.live.merge.start_source(source, stream, from_head=True)

        def lines(events: list[LogLine]) -> None:
            self.live.merge.add(source, stream, events)

        return self._poller.tail(self._log_group, stream, lines, budget=self._budget)

    def finish(self, timeout: float = 10.0) -> bool:
        """Read every stream to its end (drain the polls if live tails failed), then stop."""
        with self._polling_lock:
            polling = list(self._polling.values())
        if not polling:
            try:
                self.live.finish()
                return True
            except AwsError as error:
                self.live.fail(error)  # falls back to polling every stream
                with self._polling_lock:
                    polling = list(self._polling.values())
        drained = drain_tails(polling, timeout)
        self.close()
        return drained

    def close(self) -> None:
        self.live.close()
        with self._polling_lock:
            polling = list(self._polling.values())
        for tail in polling:
            tail.stop()


class LogWatcher(Protocol):
    """Follows a job's container logs, fed with its snapshots (:class:`LiveJobWatcher`)."""

    def update(self, snapshot: JobSnapshot) -> None: ...
    def finish(self, timeout: float = 10.0) -> bool: ...
    def close(self) -> None: ...


def follow_logs(
    job: BatchJob,
    watcher: LogWatcher,
    *,
    on_update: Callable[[JobSnapshot], None] | None = None,
    timeout: float | None = None,
    drain_timeout: float = 10.0,
    pacing: Pacing = DESCRIBE_BACKOFF,
    wake: threading.Event | None = None,
) -> JobSnapshot:
    """Wait for the job while ``watcher`` streams each container's lines; return the terminal
    snapshot once every stream has been drained.

    On an exception (KeyboardInterrupt, TimeoutError, AwsError) the tails are stopped and the
    exception propagates; terminating the job is the caller's decision.
    """
    def updated(snapshot: JobSnapshot) -> None:
        watcher.update(snapshot)
        if on_update is not None:
            on_update(snapshot)

    try:
        snapshot = job.wait(on_update=updated, timeout=timeout, pacing=pacing, wake=wake)
        watcher.finish(drain_timeout)
        return snapshot
    finally:
        watcher.close()

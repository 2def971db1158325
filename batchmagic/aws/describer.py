"""One status poller per kernel: every job's DescribeJobs shares calls of up to 100 ids.

Each run (and each sweep) asks for its job's status on its own schedule; asks that arrive within
a short window go out as one ``DescribeJobs(jobs=[...])`` call (the API takes up to 100 job ids
a call: API reference, DescribeJobs ``jobs``), so ten background runs cost one call per poll,
not ten. Per-account request-rate quotas apply to the whole account, whatever the kernel.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

MAX_IDS = 100  # DescribeJobs "jobs": a list of up to 100 job IDs
WINDOW_SECONDS = 0.02  # asks arriving this close together share one call
IDLE_SECONDS = 5.0  # the worker thread ends after this long without asks


class JobDescriber:
    """Coalesces DescribeJobs of one target's clients. Get it with :meth:`of`."""

    _lock = threading.Lock()

    def __init__(self, batch: Any) -> None:
        self._batch = batch
        self._pending: dict[str, list[Future[dict[str, Any] | None]]] = {}
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        self.calls = 0

    @classmethod
    def of(cls, clients: Any) -> JobDescriber:
        """The describer shared by everything that uses ``clients`` (one per AwsClients)."""
        with cls._lock:
            describer: JobDescriber | None = getattr(clients, "_job_describer", None)
            if describer is None:
                describer = cls(clients.batch)
                clients._job_describer = describer
            return describer

    def describe(self, job_id: str, timeout: float = 300.0) -> dict[str, Any] | None:
        """The job's description (None when Batch does not know it). Raises what the shared
        DescribeJobs call raised (a botocore ClientError or BotoCoreError)."""
        future: Future[dict[str, Any] | None] = Future()
        with self._cond:
            self._pending.setdefault(job_id, []).append(future)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._serve, daemon=True,
                                                name="batchmagic-describe-jobs")
                self._worker.start()
            self._cond.notify()
        return future.result(timeout)

    def _take(self) -> dict[str, list[Future[dict[str, Any] | None]]] | None:
        with self._cond:
            if not self._pending and not self._cond.wait_for(lambda: bool(self._pending),
                                                            IDLE_SECONDS):
                self._worker = None
                return None
        threading.Event().wait(WINDOW_SECONDS)  # let the asks of this moment gather
        with self._cond:
            ids = list(self._pending)[:MAX_IDS]
            return {job_id: self._pending.pop(job_id) for job_id in ids}

    def _serve(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            self.calls += 1
            try:
                found = {job["jobId"]: job for job in
                         self._batch.describe_jobs(jobs=list(batch)).get("jobs") or []}
            except Exception as error:  # handed to every asker, who classifies it
                for futures in batch.values():
                    for future in futures:
                        future.set_exception(error)
                continue
            for job_id, futures in batch.items():
                for future in futures:
                    future.set_result(found.get(job_id))

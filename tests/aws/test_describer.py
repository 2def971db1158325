"""One status poller per kernel: concurrent DescribeJobs asks share calls of up to 100 ids."""

from __future__ import annotations

import threading
from typing import Any

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.describer import JobDescriber
from tests.helpers import make_queue, single_definition, unique, wait_job


def _describe_calls(clients: AwsClients) -> list[list[str]]:
    """The ``jobs`` of every DescribeJobs request these clients send (botocore's own events)."""
    sent: list[list[str]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(list(params["jobs"]))

    clients.batch.meta.events.register("provide-client-params.batch.DescribeJobs", record)
    return sent


def _ask_at_once(describer: JobDescriber, ids: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    start = threading.Barrier(len(ids))

    def ask(job_id: str) -> None:
        start.wait()
        results[job_id] = describer.describe(job_id)

    threads = [threading.Thread(target=ask, args=(job_id,)) for job_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_concurrent_asks_share_one_call_and_get_their_own_job(target: Any) -> None:
    clients = AwsClients(target)
    sent = _describe_calls(clients)
    queue = make_queue(clients.batch)
    definition = single_definition(clients.batch, ["true"])
    ids = [clients.batch.submit_job(jobName=unique("d"), jobQueue=queue,
                                    jobDefinition=definition)["jobId"] for _ in range(3)]
    for job_id in ids:
        wait_job(clients.batch, job_id)
    sent.clear()
    results = _ask_at_once(JobDescriber.of(clients), [*ids, "no-such-job"])
    assert {job_id: (r or {}).get("jobId") for job_id, r in results.items()} == {
        **{job_id: job_id for job_id in ids}, "no-such-job": None}
    assert len(sent) == 1 and sorted(sent[0]) == sorted([*ids, "no-such-job"])


def test_more_than_100_asks_go_out_in_calls_of_at_most_100(target: Any) -> None:
    clients = AwsClients(target)
    sent = _describe_calls(clients)
    results = _ask_at_once(JobDescriber.of(clients), [f"job-{i}" for i in range(150)])
    assert len(results) == 150 and not any(results.values())
    assert sum(len(ids) for ids in sent) == 150 and max(len(ids) for ids in sent) <= 100
    assert len(sent) <= 3


def test_one_describer_per_set_of_clients(target: Any) -> None:
    clients = AwsClients(target)
    assert JobDescriber.of(clients) is JobDescriber.of(clients)
    assert JobDescriber.of(AwsClients(target)) is not JobDescriber.of(clients)

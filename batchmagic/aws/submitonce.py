"""SubmitJob exactly once.

SubmitJob has no idempotency token (unlike, say, RunInstances' ``ClientToken``): when AWS
accepted a job but the answer is lost (a 5xx after the fact, a reset connection, a read
timeout), botocore's automatic retry submits a second job that runs the cell again into the
same S3 prefix. So SubmitJob goes through a client without automatic retries
(``AwsClients.batch_submit``), and after an *ambiguous* failure the run's job name - unique per
run, it embeds the run id - is looked up with ListJobs (``filters=[JOB_NAME]``, which lists
every status) before anything is submitted again.

- Not carried out, safe to submit again: the connection could not be made (connect timeout,
  endpoint unreachable) or the call was throttled (Batch answers 429 TooManyRequestsException
  before doing anything).
- Ambiguous, look first: a 5xx (ServerException), a reset or closed connection, a read timeout.
- Anything else (4xx ClientException, bad parameters) is final and raised as it is.

ListJobs can lag behind SubmitJob for a moment, so the lookup is repeated a few times before the
job is taken as never created.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
)

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.errors import is_throttled
from batchmagic.errors import SubmissionError

log = logging.getLogger(__name__)

ATTEMPTS = 5
LOOKUP_DELAYS = (0.0, 0.5, 1.0, 2.0)  # seconds before each ListJobs lookup of one failure
LOOKUP_ROUNDS = 5  # rounds of lookups while ListJobs itself fails


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def classify(error: BaseException) -> str:
    """``retry`` (not carried out), ``ambiguous`` (maybe carried out) or ``final``.

    This sits below ``aws/errors.py``'s classification (the caller wraps the whole exchange in
    ``aws_errors``): it needs botocore's own error to tell "not carried out" from "maybe"."""
    if isinstance(error, ClientError):
        if is_throttled(error):
            return "retry"
        return "ambiguous" if _status(error) >= 500 else "final"
    if isinstance(error, (ConnectTimeoutError, EndpointConnectionError)):
        return "retry"
    if isinstance(error, HTTPClientError):  # ReadTimeoutError, ConnectionClosedError, ...
        return "ambiguous"
    return "final"


def find_job(clients: AwsClients, queue: str, job_name: str) -> dict[str, Any] | None:
    """The job of this name in ``queue`` (any status), or None."""
    response = clients.batch.list_jobs(jobQueue=queue,
                                       filters=[{"name": "JOB_NAME", "values": [job_name]}])
    found = [job for job in response.get("jobSummaryList") or []
             if job.get("jobName") == job_name]
    return dict(found[0]) if found else None


def _look_up(clients: AwsClients, queue: str, name: str,
             sleep: Callable[[float], None]) -> dict[str, Any] | None:
    """The job after an ambiguous failure, or None once ListJobs has answered through its lag
    without it. A lookup that fails is no answer: never submit again on a guess."""
    for _ in range(LOOKUP_ROUNDS):
        answered = False
        for delay in LOOKUP_DELAYS:
            sleep(delay)
            try:
                job = find_job(clients, queue, name)
            except (ClientError, BotoCoreError) as error:
                log.info("ListJobs %s: %s", name, error)
                continue
            if job is not None:
                return job
            answered = True
        if answered:
            return None
    raise SubmissionError(
        f"SubmitJob {name}: the answer was lost and ListJobs could not tell whether the job "
        f"exists; look for {name} in {queue} before running the cell again")


def submit_once(clients: AwsClients, payload: Mapping[str, Any],
                sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """SubmitJob ``payload``; never creates a second job of the same name."""
    name, queue = str(payload["jobName"]), str(payload["jobQueue"])
    last: ClientError | BotoCoreError | None = None
    for attempt in range(ATTEMPTS):
        try:
            return dict(clients.batch_submit.submit_job(**payload))
        except (ClientError, BotoCoreError) as error:
            kind = classify(error)
            if kind == "final":
                raise
            last = error
        log.info("SubmitJob %s: %s (%s), attempt %d", name, last, kind, attempt + 1)
        if kind == "ambiguous":
            job = _look_up(clients, queue, name, sleep)
            if job is not None:  # AWS had accepted it: that is our job
                return {"jobId": job["jobId"], "jobName": name, "jobArn": job.get("jobArn", "")}
        elif attempt < ATTEMPTS - 1:
            sleep(0.2 * 2 ** attempt)
    assert last is not None
    raise last  # every attempt failed, and no job of this name exists

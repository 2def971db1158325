"""6. Parity with AWS under faults: duplicate jobs when answers are lost, and how fast a live
tail that cannot open hands over to polling."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from benchmarks.harness import Bench, Row, say

FAULTS = "error=0.3,reset=0.2,after=0.5,seed=99"
SUBMISSIONS = 40


def _retrying(call: Callable[[], Any]) -> Any:
    while True:  # reads and setup through the faults, whatever the retry quota says
        try:
            return call()
        except ClientError as error:
            if "exist" in str(error):
                return None  # made by an attempt whose answer was lost
            if error.response.get("Error", {}).get("Code") == "ClientException":
                raise  # a refusal is not a fault: retrying it would loop for ever
        except BotoCoreError:
            pass


def _setup(batch: Any, ec2: Any, tag: str) -> tuple[str, str]:
    ce, queue, definition = f"bench-ce-{tag}", f"bench-q-{tag}", f"bench-def-{tag}"
    # Fargate environments need real subnets and a security group, as on AWS.
    subnets = [s["SubnetId"] for s in _retrying(ec2.describe_subnets)["Subnets"]]
    groups = [g["GroupId"] for g in _retrying(ec2.describe_security_groups)["SecurityGroups"]]
    _retrying(lambda: batch.create_compute_environment(
        computeEnvironmentName=ce, type="MANAGED",
        computeResources={"type": "FARGATE", "maxvCpus": 16, "subnets": subnets[:1],
                          "securityGroupIds": groups[:1]}))
    while _retrying(lambda: batch.describe_compute_environments(
            computeEnvironments=[ce]))["computeEnvironments"][0]["status"] != "VALID":
        time.sleep(0.05)
    _retrying(lambda: batch.create_job_queue(
        jobQueueName=queue, priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}]))
    while _retrying(lambda: batch.describe_job_queues(
            jobQueues=[queue]))["jobQueues"][0]["status"] != "VALID":
        time.sleep(0.05)
    _retrying(lambda: batch.register_job_definition(
        jobDefinitionName=definition, type="container", platformCapabilities=["FARGATE"],
        containerProperties={
            "image": "python:3.11", "command": ["python", "-c", "pass"],
            "executionRoleArn": "arn:aws:iam::123456789012:role/bench",
            "resourceRequirements": [{"type": "VCPU", "value": "0.25"},
                                     {"type": "MEMORY", "value": "512"}]}))
    return queue, definition


def _duplicates(submit: Callable[[dict[str, Any]], Any], batch: Any, queue: str,
                definition: str, label: str) -> tuple[int, int]:
    extra = failed = 0
    for i in range(SUBMISSIONS):
        name = f"bench-{label}-{i}"
        try:
            submit({"jobName": name, "jobQueue": queue, "jobDefinition": definition})
        except (ClientError, BotoCoreError):
            failed += 1
        jobs = _retrying(lambda n=name: batch.list_jobs(
            jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [n]}]))["jobSummaryList"]
        extra += max(0, len(jobs) - 1)
    return extra, failed


def _fallback(clients: Any, endpoint: str) -> tuple[float, float]:
    from batchmagic.aws.clients import AwsClients, AwsTarget
    from batchmagic.aws.livetail import LiveTails

    held, fallback = [], []
    for i in range(5):
        stream = f"s{i}-{time.monotonic_ns()}"
        clients.logs.create_log_stream(logGroupName="/bench/parity", logStreamName=stream)
        bad = AwsClients(AwsTarget(region="us-east-1", endpoint_url=endpoint, emulator=True))
        failed = threading.Event()
        tails = LiveTails(clients, "/bench/parity", lambda _s, _l: None,
                          lambda _e, event=failed: event.set(), client=bad.logs_streaming)
        start = time.perf_counter()
        tails.follow([stream])
        held.append(time.perf_counter() - start)
        failed.wait(30)
        fallback.append(time.perf_counter() - start)
        tails.close()
    return statistics.median(held), statistics.median(fallback)


def bench_parity(bench: Bench) -> None:
    from batchmagic.aws.clients import AwsClients, AwsTarget
    from batchmagic.aws.submitonce import submit_once
    from batchmagic.emulator import run_emulator

    say(f"== 6. Parity under faults ({FAULTS}) ==")
    with run_emulator(faults=FAULTS) as url:
        clients = AwsClients(AwsTarget(region="us-east-1", endpoint_url=url, emulator=True))
        batch = clients.client("batch", Config(retries={"total_max_attempts": 1}))
        queue, definition = _setup(batch, clients.ec2, str(time.monotonic_ns()))
        ours = _duplicates(lambda p: submit_once(clients, p, sleep=lambda _s: None), batch,
                           queue, definition, "once")
        theirs = _duplicates(lambda p: clients.batch.submit_job(**p), batch, queue,
                             definition, "retries")
    say(f"  duplicate jobs in {SUBMISSIONS} submissions: submit_once {ours[0]} "
        f"({ours[1]} gave up), botocore's retries {theirs[0]} ({theirs[1]} gave up)")
    bench.rows.append(Row("duplicate jobs / 40 submits under faults", str(ours[0]),
                          str(theirs[0]), "-", "0", ours[0] == 0))
    with run_emulator() as url:
        clients = AwsClients(AwsTarget(region="us-east-1", endpoint_url=url, emulator=True))
        clients.logs.create_log_group(logGroupName="/bench/parity")
        held, fallback = _fallback(clients, "http://127.0.0.1:9")
    say(f"  live tail refused: follow() held the status poll {held * 1000:.0f} ms, polling "
        f"took over after {fallback * 1000:.0f} ms (median of 5)")
    bench.rows.append(Row("refused live tail -> polling", f"{fallback * 1000:.0f} ms", "-",
                          "-", "< 1 s", fallback < 1.0))

"""Every log line exactly once, in order, through latency, throttling, 5xx and resets.

Twenty three-container jobs run at once on an emulator that injects faults into every call the
client makes (uploads aside, that is every call a run makes while it follows its logs): live
tails that start before the first read and get throttled or reset, streams that appear late
(stage-out starts only after main), catch-up reads that answer after the session's pushes, the
final drain. Each job's main prints 500 numbered lines in bursts; what the client delivers must
be exactly the numbers 0-499 in order, and the sidecars' lines likewise. Seeded: a failure
names the seed that reproduces it.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from batchmagic.aws.backoff import Backoff
from batchmagic.aws.clients import AwsClients, AwsTarget
from batchmagic.aws.follow import LiveJobWatcher, follow_logs
from batchmagic.aws.job import BatchJob, JobStatus
from batchmagic.aws.logs import LogLine, LogPoller
from batchmagic.emulator import run_emulator
from tests.helpers import FARGATE_RESOURCES, wait_for

RUNS = 20
LINES = 500
FAULTS = "latency=150ms±100,throttle=0.2,error=0.05,reset=0.02,after=0.5,seed={seed}"
PY = sys.executable
ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"

# Bursts of 50 lines with short pauses: the lines of one job arrive over a second or two,
# while sessions open, catch-ups read and sessions are replaced.
MAIN = (f"import time\nfor i in range({LINES}):\n"
        "    print('line', i, flush=True)\n"
        "    if i % 50 == 49: time.sleep(0.1)\n")
SIDECAR = "for i in range(5): print('{name}', i, flush=True)\n"


@pytest.fixture(scope="module")
def faulty() -> Iterator[tuple[AwsClients, str]]:
    seed = 20261128
    with run_emulator(faults=FAULTS.format(seed=seed)) as url:
        clients = AwsClients(AwsTarget(endpoint_url=url, emulator=True))
        batch = clients.batch
        ce = f"ce-{uuid.uuid4().hex[:8]}"
        batch.create_compute_environment(
            computeEnvironmentName=ce, type="MANAGED",
            computeResources={**FARGATE_RESOURCES, "maxvCpus": 64})
        wait_for(lambda: batch.describe_compute_environments(computeEnvironments=[ce])[
            "computeEnvironments"][0]["status"] == "VALID", timeout=60)
        queue = f"q-{uuid.uuid4().hex[:8]}"
        batch.create_job_queue(jobQueueName=queue, priority=1,
                               computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}])
        wait_for(lambda: batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]["status"]
                 == "VALID", timeout=60)
        yield clients, queue


def _container(name: str, code: str, vcpu: str = "0.125", memory: str = "256",
               **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "python:3.11-slim", "command": [PY, "-c", code],
            "resourceRequirements": [{"type": "VCPU", "value": vcpu},
                                     {"type": "MEMORY", "value": memory}], **extra}


def _definition(clients: AwsClients) -> str:
    name = f"jd-{uuid.uuid4().hex[:8]}"
    clients.batch.register_job_definition(
        jobDefinitionName=name, type="container", platformCapabilities=["FARGATE"],
        ecsProperties={"taskProperties": [{"executionRoleArn": ROLE, "containers": [
            _container("stage-in", SIDECAR.format(name="in"), essential=False),
            _container("main", MAIN, "0.25", "512", essential=False,
                       dependsOn=[{"containerName": "stage-in", "condition": "SUCCESS"}]),
            _container("stage-out", SIDECAR.format(name="out"),
                       dependsOn=[{"containerName": "main", "condition": "COMPLETE"}]),
        ]}]})
    return name


def test_every_line_once_in_order_under_faults(faulty: tuple[AwsClients, str]) -> None:
    clients, queue = faulty
    definition = _definition(clients)
    poller = LogPoller(clients, rate=20, burst=20, pacing=Backoff(first=0.1, most=0.5),
                       budget_per_minute=600)
    received: dict[str, dict[str, list[str]]] = {}
    problems: list[str] = []
    fallbacks: list[str] = []
    started = time.monotonic()

    def one_run(index: int) -> None:
        lines: dict[str, list[str]] = defaultdict(list)
        try:
            job_id = clients.batch.submit_job(jobName=f"faults-{index}", jobQueue=queue,
                                              jobDefinition=definition)["jobId"]
            job = BatchJob(clients, job_id)

            def on_lines(container: str, batch: list[LogLine]) -> None:
                lines[container].extend(line.message for line in batch)

            watcher = LiveJobWatcher(job, poller, on_lines)
            final = follow_logs(job, watcher, timeout=150, drain_timeout=60,
                                pacing=Backoff(first=0.1, most=1.0))
            if final.status is not JobStatus.SUCCEEDED:
                problems.append(f"run {index}: {final.status.value}")
            if watcher.live.failed is not None:
                fallbacks.append(repr(watcher.live.failed))
        except Exception as error:
            problems.append(f"run {index}: {error!r}")
        received[str(index)] = dict(lines)

    threads = [threading.Thread(target=one_run, args=(i,)) for i in range(RUNS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    poller.close()
    elapsed = time.monotonic() - started

    expected = {"stage-in": [f"in {i}" for i in range(5)],
                "main": [f"line {i}" for i in range(LINES)],
                "stage-out": [f"out {i}" for i in range(5)]}
    lost = duplicated = disordered = 0
    for lines in received.values():
        for container, want in expected.items():
            got = lines.get(container, [])
            lost += len(set(want) - set(got))
            duplicated += len(got) - len(set(got))
            disordered += sum(1 for a, b in itertools.pairwise(got)
                              if want.index(b) < want.index(a))
    print(f"\n{RUNS} runs x {LINES} lines under {FAULTS.format(seed=20261128)}: "
          f"lost {lost}, duplicated {duplicated}, out of order {disordered}; "
          f"{len(fallbacks)} runs fell back to polling; {elapsed:.1f} s")
    assert not problems, problems
    assert (lost, duplicated, disordered) == (0, 0, 0)
    assert all(lines == expected for lines in received.values())

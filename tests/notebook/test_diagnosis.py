"""Why a job waits: the statusReason or one round of checks, shown after --diagnose-after and
kept in run.diagnosis; --runnable-timeout cancels a job that never starts. On the emulator,
whose compute environments are disabled or made small here (and restored)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from batchmagic import JobFailedError
from batchmagic.aws.clients import AwsClients
from batchmagic.run.diagnosis import explain_reason
from batchmagic.run.target import resolve_target
from batchmagic.settings import Settings

CE = "batchmagic-fargate"


def _local_setup() -> None:
    """The emulator holds what `batchmagic setup` makes (its compute environment included)."""
    resolve_target(Settings().with_values(local=True))


def _wait_valid(clients: AwsClients) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        (ce,) = clients.batch.describe_compute_environments(
            computeEnvironments=[CE])["computeEnvironments"]
        if ce["status"] == "VALID":
            return
        time.sleep(0.05)
    raise AssertionError(f"{CE} did not become VALID")


@contextlib.contextmanager
def _changed(clients: AwsClients, **update: Any) -> Iterator[None]:
    """The local compute environment with ``update`` applied, restored afterwards."""
    clients.batch.update_compute_environment(computeEnvironment=CE, **update)
    _wait_valid(clients)
    try:
        yield
    finally:
        clients.batch.update_compute_environment(computeEnvironment=CE, state="ENABLED",
                                                 computeResources={"maxvCpus": 64})
        _wait_valid(clients)


def _until(predicate: Any, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_disabled_compute_environment_is_named_with_the_fix(ip: Any,
                                                              local_clients: AwsClients) -> None:
    _local_setup()
    with _changed(local_clients, state="DISABLED"):
        run = ip.run_cell_magic("aws_batch", "--no-wait --diagnose-after 1", "print('late')")
        diagnosis = _until(lambda: run.diagnosis)
        assert str(diagnosis).startswith(f"the compute environment {CE} is DISABLED - ")
        assert "--state ENABLED" in diagnosis.fix and diagnosis.source == "checks"
    run.wait()
    assert run.status == "SUCCEEDED"


def test_a_job_bigger_than_max_vcpus_is_cancelled_after_the_runnable_timeout(
        ip: Any, local_clients: AwsClients) -> None:
    _local_setup()
    with _changed(local_clients, computeResources={"maxvCpus": 1}), \
            pytest.raises(JobFailedError) as raised:
        ip.run_cell_magic("aws_batch", "--cpu 2 --memory 4096 --diagnose-after 1 "
                              "--runnable-timeout 3 --result big", "print('never')")
    message = str(raised.value)
    assert "did not start within 3 s and was cancelled" in message
    assert "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT" in message
    run = ip.user_ns["big"]
    assert run.diagnosis.source == "statusReason" and run.status == "FAILED"


def test_a_busy_compute_environment_says_how_much_is_in_use(ip: Any,
                                                            local_clients: AwsClients) -> None:
    _local_setup()
    with _changed(local_clients, computeResources={"maxvCpus": 2}):
        first = ip.run_cell_magic("aws_batch", "--cpu 2 --memory 4096 --no-wait",
                                  "import time\ntime.sleep(30)")
        _until(lambda: first.status == "RUNNING")
        second = ip.run_cell_magic("aws_batch", "--no-wait --diagnose-after 1", "pass")
        diagnosis = _until(lambda: second.diagnosis)
        assert "the compute environment is busy" in diagnosis.cause
        assert "2/2 vCPUs in use by 1 running jobs" in diagnosis.cause
        first.cancel("test over")
        second.cancel("test over")
        first._done.wait(30)
        second._done.wait(30)


@pytest.mark.parametrize(("reason", "expected"), [
    ("CannotPullContainerError: pull image manifest has been retried 1 time(s): not found",
     "check the image name"),
    ("ResourceInitializationError: unable to pull secrets or registry auth",
     "let the execution role read the secrets"),
    ("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested",
     "no spare capacity"),
])
def test_known_reasons_are_explained(reason: str, expected: str) -> None:
    found = explain_reason(reason)
    assert found is not None and expected in str(found)

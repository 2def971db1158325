"""The official Python image is emulated as on AWS: a bare interpreter (standard library and
pip), without the emulator's packages; other images keep the emulator's own Python."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from batchmagic.emulator.images import is_emulated_python
from tests.helpers import EXECUTION_ROLE, log_lines, unique, wait_job

PROBE = ("import json, os, sys, importlib.util as u; print(json.dumps({"
         "'boto3': u.find_spec('boto3') is not None, 'pip': u.find_spec('pip') is not None, "
         "'prefix': sys.prefix, 'pythonpath': os.environ.get('PYTHONPATH'), "
         "'job_var': os.environ.get('JOB_VAR')}))")


def probe(batch: Any, logs: Any, queue: str, image: str) -> dict[str, Any]:
    name = unique("jd")
    batch.register_job_definition(
        jobDefinitionName=name, type="container", platformCapabilities=["FARGATE"],
        containerProperties={"image": image, "command": ["python3", "-c", PROBE],
                             "executionRoleArn": EXECUTION_ROLE,
                             "environment": [{"name": "JOB_VAR", "value": "kept"}],
                             "resourceRequirements": [{"type": "VCPU", "value": "0.25"},
                                                      {"type": "MEMORY", "value": "512"}]})
    job_id = batch.submit_job(jobName=unique("img"), jobQueue=queue, jobDefinition=name)["jobId"]
    job = wait_job(batch, job_id, timeout=60)
    assert job["status"] == "SUCCEEDED", job
    result: dict[str, Any] = json.loads(log_lines(logs, job["container"]["logStreamName"])[0])
    return result


@pytest.mark.parametrize("image", ["public.ecr.aws/docker/library/python:3.11-slim",
                                   "python:3.12", "docker.io/library/python", "library/python:3"])
def test_official_python_images_are_emulated(image: str) -> None:
    assert is_emulated_python(image)


@pytest.mark.parametrize("image", ["ghcr.io/kestra-io/pydata:latest", "mypython:3.11",
                                   "amazon/aws-cli", "public.ecr.aws/docker/library/pypy:3"])
def test_other_images_are_not(image: str) -> None:
    assert not is_emulated_python(image)


def test_the_official_image_has_only_the_standard_library_and_pip(
        batch: Any, logs: Any, queue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/somewhere/with/packages")
    seen = probe(batch, logs, queue, "public.ecr.aws/docker/library/python:3.11-slim")
    assert seen["boto3"] is False and seen["pip"] is True
    assert seen["prefix"] != sys.prefix and seen["pythonpath"] is None
    assert seen["job_var"] == "kept"


def test_other_images_keep_the_emulators_python(batch: Any, logs: Any, queue: str) -> None:
    seen = probe(batch, logs, queue, "ghcr.io/kestra-io/pydata:latest")
    assert seen["boto3"] is True and seen["prefix"] == sys.prefix

"""Payloads: valid against botocore's Batch model and shaped as DESIGN.md §2 says."""

from __future__ import annotations

import dataclasses
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from batchmagic.errors import ConfigurationError
from batchmagic.jobdef import describe, layout, names, spec
from batchmagic.jobdef.sizes import validate_size
from batchmagic.settings import Settings

MODEL = botocore.session.get_session().get_service_model("batch")


def assert_valid(operation: str, payload: dict[str, Any]) -> None:
    shape = MODEL.operation_model(operation).input_shape
    report = ParamValidator().validate(payload, shape)
    assert not report.has_errors(), report.generate_report()


def make_spec(**changes: Any) -> spec.JobSpec:
    settings = Settings(
        image="public.ecr.aws/docker/library/python:3.11-slim",
        execution_role="arn:aws:iam::123456789012:role/exec",
        task_role="arn:aws:iam::123456789012:role/task",
    )
    return dataclasses.replace(spec.JobSpec.from_settings(settings, "eu-west-1"), **changes)


def submit(job_spec: spec.JobSpec | None = None, **changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "spec": job_spec or make_spec(),
        "job_name": "cell-20240101-abc123",
        "job_queue": "batchmagic-queue",
        "job_definition": "batchmagic-0123456789abcdef",
        "in_uri": "s3://bucket/batchmagic/alice/run1/in/",
        "out_uri": "s3://bucket/batchmagic/alice/run1/out/",
        "output_patterns": ["*.json", "plots/*.png"],
        "pull_names": ["df", "model"],
        "environment": {"MODE": "fast"},
        "tags": {"batchmagic:user": "alice"},
    }
    arguments.update(changes)
    return spec.submit_payload(**arguments)


def containers_of(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    key = "ecsProperties" if "ecsProperties" in payload else "ecsPropertiesOverride"
    (task,) = payload[key]["taskProperties"]
    return {c["name"]: c for c in task["containers"]}


# --- spec from settings -------------------------------------------------------------------------


def test_from_settings_copies_values() -> None:
    settings = Settings(cpu=4, memory=4096, platform="EC2", timeout=600, image="img")
    job_spec = spec.JobSpec.from_settings(settings, "us-west-2")
    assert (job_spec.cpu, job_spec.memory, job_spec.platform) == (4.0, 4096, "ec2")
    assert job_spec.region == "us-west-2" and job_spec.timeout == 600
    assert job_spec.sidecar_image == settings.sidecar_image


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"memory": 1000}, "Fargate does not offer"),
        ({"ephemeral_storage": 10}, "21-200"),
        ({"ephemeral_storage": 50, "platform": "ec2", "cpu": 3}, "only applies to Fargate"),
        ({"timeout": 30}, "at least 60"),
    ],
)
def test_from_settings_validates(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        spec.JobSpec.from_settings(Settings(**changes), "us-east-1")


# --- job definition -----------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["fargate", "ec2"])
def test_definition_validates_against_botocore(platform: str) -> None:
    job_spec = make_spec(platform=platform, cpu=2.0, memory=8192)
    assert_valid("RegisterJobDefinition", spec.job_definition_payload(job_spec))


def test_definition_shape() -> None:
    payload = spec.job_definition_payload(make_spec(ephemeral_storage=50))
    assert payload["jobDefinitionName"].startswith("batchmagic-")
    assert len(payload["jobDefinitionName"]) == len("batchmagic-") + 16
    assert payload["type"] == "container"
    assert payload["platformCapabilities"] == ["FARGATE"]
    assert payload["tags"] == {"batchmagic:managed": "true"}
    assert payload["propagateTags"] is True
    (task,) = payload["ecsProperties"]["taskProperties"]
    assert task["volumes"] == [{"name": "work"}]
    assert task["networkConfiguration"] == {"assignPublicIp": "ENABLED"}
    assert task["ephemeralStorage"] == {"sizeInGiB": 50}
    assert task["executionRoleArn"].endswith("role/exec")
    assert task["taskRoleArn"].endswith("role/task")
    assert [c["name"] for c in task["containers"]] == ["stage-in", "main", "stage-out"]

    containers = containers_of(payload)
    stage_in, main, stage_out = (containers[n] for n in layout.CONTAINERS)
    assert stage_in["essential"] is False and "dependsOn" not in stage_in
    assert stage_in["image"] == spec.JobSpec.from_settings(Settings(), "x").sidecar_image
    assert main["essential"] is False
    assert main["dependsOn"] == [{"containerName": "stage-in", "condition": "SUCCESS"}]
    assert main["command"] == ["python", "/work/.batchmagic/bootstrap.py"]
    assert main["image"] == "public.ecr.aws/docker/library/python:3.11-slim"
    assert stage_out["essential"] is True
    assert stage_out["dependsOn"] == [{"containerName": "main", "condition": "COMPLETE"}]
    for container in containers.values():
        assert container["mountPoints"] == [
            {"sourceVolume": "work", "containerPath": "/work", "readOnly": False}
        ]
        types = {r["type"] for r in container["resourceRequirements"]}
        assert types == {"VCPU", "MEMORY"}


def test_definition_dependencies_respect_aws_rules() -> None:
    """At least one essential container; COMPLETE/SUCCESS never target an essential one."""
    containers = containers_of(spec.job_definition_payload(make_spec()))
    assert any(c.get("essential", True) for c in containers.values())
    for container in containers.values():
        for dependency in container.get("dependsOn", []):
            target = containers[dependency["containerName"]]
            if dependency["condition"] in ("COMPLETE", "SUCCESS"):
                assert target["essential"] is False


def test_definition_sizes_add_up_to_a_valid_fargate_task() -> None:
    containers = containers_of(spec.job_definition_payload(make_spec()))
    total_cpu = total_memory = 0.0
    for container in containers.values():
        values = {r["type"]: r["value"] for r in container["resourceRequirements"]}
        total_cpu += float(values["VCPU"])
        total_memory += int(values["MEMORY"])
    validate_size("fargate", total_cpu, int(total_memory))


def test_ec2_definition_has_no_fargate_only_fields() -> None:
    payload = spec.job_definition_payload(make_spec(platform="ec2", cpu=4.0, memory=4096))
    (task,) = payload["ecsProperties"]["taskProperties"]
    assert payload["platformCapabilities"] == ["EC2"]
    assert "networkConfiguration" not in task and "ephemeralStorage" not in task
    assert all("host" not in volume for volume in task["volumes"])


def test_definition_without_roles() -> None:
    payload = spec.job_definition_payload(make_spec(execution_role=None, task_role=None))
    (task,) = payload["ecsProperties"]["taskProperties"]
    assert "executionRoleArn" not in task and "taskRoleArn" not in task
    assert_valid("RegisterJobDefinition", payload)


def test_definition_name_is_stable_and_content_addressed() -> None:
    base = make_spec()
    assert spec.job_definition_name(base) == spec.job_definition_name(make_spec())
    assert spec.job_definition_name(base) == spec.job_definition_payload(base)["jobDefinitionName"]
    others = [
        make_spec(image="python:3.12"),
        make_spec(sidecar_image="amazon/aws-cli:2.15.0"),
        make_spec(task_role="arn:aws:iam::123456789012:role/other"),
        make_spec(platform="ec2", cpu=3.0),
        make_spec(ephemeral_storage=30),
    ]
    names = {spec.job_definition_name(s) for s in [base, *others]}
    assert len(names) == len(others) + 1


def test_size_timeout_and_region_reuse_the_definition() -> None:
    """Per-run values travel in SubmitJob, so they do not create new definition revisions."""
    base = spec.job_definition_name(make_spec())
    assert spec.job_definition_name(make_spec(cpu=4.0, memory=16384)) == base
    assert spec.job_definition_name(make_spec(timeout=3600)) == base
    assert spec.job_definition_name(make_spec(region="us-east-1")) == base


# --- submit -------------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["fargate", "ec2"])
def test_submit_validates_against_botocore(platform: str) -> None:
    payload = submit(make_spec(platform=platform, cpu=4.0, memory=16384, timeout=900))
    assert_valid("SubmitJob", payload)


def test_submit_commands() -> None:
    containers = containers_of(submit())
    assert containers["stage-in"]["command"] == [
        "s3", "cp", "s3://bucket/batchmagic/alice/run1/in/", "/work", "--recursive",
        "--only-show-errors",
    ]
    assert containers["stage-out"]["command"] == [
        "s3", "cp", "/work", "s3://bucket/batchmagic/alice/run1/out/", "--recursive",
        "--no-follow-symlinks", "--exclude", "*",
        "--include", ".batchmagic/result.json",
        "--include", ".batchmagic/pull.pkl",
        "--include", ".batchmagic/env/*",
        "--include", ".outputs/*",
        "--include", "*.json",
        "--include", "plots/*.png",
        "--only-show-errors",
    ]
    assert containers["main"]["command"] == ["python", "/work/.batchmagic/bootstrap.py"]


def test_submit_environment() -> None:
    containers = containers_of(submit())
    env = {e["name"]: e["value"] for e in containers["main"]["environment"]}
    assert env == {
        "MODE": "fast",
        "BATCHMAGIC_WORKDIR": "/work",
        "BATCHMAGIC_OUTPUT_DIR": "/work/.outputs",
        "BATCHMAGIC_PULL": "df,model",
        "BATCHMAGIC_OUTPUTS": '["*.json", "plots/*.png"]',
        "PYTHONUNBUFFERED": "1",
    }
    assert not any(name.startswith("AWS_") for name in env)
    assert "environment" not in containers["stage-in"]
    assert "environment" not in containers["stage-out"]


def test_submit_sizes_timeout_and_tags() -> None:
    payload = submit(make_spec(cpu=2.0, memory=8192, timeout=900))
    containers = containers_of(payload)
    main = {r["type"]: r["value"] for r in containers["main"]["resourceRequirements"]}
    assert main == {"VCPU": "1.75", "MEMORY": "7168"}
    total = sum(
        int(r["value"])
        for c in containers.values()
        for r in c["resourceRequirements"]
        if r["type"] == "MEMORY"
    )
    assert total == 8192
    assert payload["timeout"] == {"attemptDurationSeconds": 900}
    assert payload["tags"] == {"batchmagic:user": "alice", "batchmagic:managed": "true"}
    assert payload["propagateTags"] is True
    assert payload["jobDefinition"] == "batchmagic-0123456789abcdef"
    assert "timeout" not in submit()


def test_submit_rejects_bad_job_name_and_uris() -> None:
    with pytest.raises(ConfigurationError, match="job name"):
        submit(job_name="my cell!")
    with pytest.raises(ConfigurationError, match="s3://"):
        submit(in_uri="/tmp/in/")


def test_sanitize_job_name() -> None:
    assert names.sanitize_job_name("my cell: v2") == "my-cell--v2"
    assert names.sanitize_job_name("__x") == "x"
    assert names.sanitize_job_name("!!!") == "batchmagic"
    assert len(names.sanitize_job_name("a" * 300)) == 128


# --- helpers ------------------------------------------------------------------------------------


def test_container_graph() -> None:
    text = describe.container_graph(make_spec())
    assert "stage-in" in text and "main" in text and "stage-out" in text
    assert "stage-in SUCCESS" in text and "main COMPLETE" in text
    assert "1 vCPU, 2048 MiB" in text
    assert "/work" in text


def test_validate_env() -> None:
    assert names.validate_env(["A=1", "B_2=x=y", "EMPTY="]) == {"A": "1", "B_2": "x=y", "EMPTY": ""}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("NOVALUE", "KEY=VALUE"),
        ("1ABC=x", "not a valid variable name"),
        ("A-B=x", "not a valid variable name"),
        ("=x", "not a valid variable name"),
        ("AWS_ACCESS_KEY_ID=AKIA", "task role"),
        ("AWS_SECRET_ACCESS_KEY=s", "task role"),
        ("aws_session_token=t", "task role"),
        ("AWS_BATCH_JOB_ID=x", "reserved"),
        ("BATCHMAGIC_PULL=x", "batchmagic itself"),
    ],
)
def test_validate_env_errors(item: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        names.validate_env([item])


@pytest.mark.parametrize(("patterns", "filters"), [
    (["*.csv", "plots/*.png", "file?.txt", "[ab].txt"],
     ["*.csv", "plots/*.png", "file?.txt", "[ab].txt"]),
    (["results"], ["results", "results/*"]),
    (["results/", "model.pt"], ["results", "results/*", "model.pt", "model.pt/*"]),
])
def test_a_pattern_without_wildcards_is_also_a_directory(patterns: list[str],
                                                         filters: list[str]) -> None:
    assert layout.output_filters(patterns) == filters

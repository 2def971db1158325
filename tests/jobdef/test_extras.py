"""--arch, --gpu and --secret as payload pieces (pure functions, no AWS)."""

from __future__ import annotations

from typing import Any

import pytest

from batchmagic.errors import ConfigurationError
from batchmagic.jobdef.extras import (
    add_gpus,
    add_to_definition,
    parse_secrets,
    validate_arch,
    validate_gpu,
)

SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/db-AbCdEf"
PARAMETER = "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/team/token"


def _task() -> dict[str, Any]:
    return {"containers": [{"name": "stage-in"}, {"name": "main"}, {"name": "stage-out"}]}


@pytest.mark.parametrize(("arch", "platform", "expected"), [
    ("x86_64", "fargate", "X86_64"), ("ARM64", "fargate", "ARM64"), ("x86_64", "ec2", "X86_64"),
])
def test_architectures(arch: str, platform: str, expected: str) -> None:
    assert validate_arch(arch, platform) == expected


@pytest.mark.parametrize(("arch", "platform", "message"), [
    ("sparc", "fargate", "--arch 'sparc': use x86_64 or arm64"),
    ("arm64", "ec2", "--arch arm64 is a Fargate setting"),
])
def test_bad_architectures(arch: str, platform: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        validate_arch(arch, platform)


def test_gpus() -> None:
    validate_gpu(None, "fargate")
    validate_gpu(0, "fargate")
    validate_gpu(1, "ec2")
    validate_gpu(8, "ec2")
    with pytest.raises(ConfigurationError, match="Fargate has no GPUs"):
        validate_gpu(1, "fargate")
    for bad in (9, -1):
        with pytest.raises(ConfigurationError, match=f"--gpu {bad}: use 1-8"):
            validate_gpu(bad, "ec2")


def test_secrets_are_parsed_sorted_and_checked() -> None:
    assert parse_secrets([f"Z_TOKEN={PARAMETER}", f"DB={SECRET}:password::"]) == (
        ("DB", f"{SECRET}:password::"), ("Z_TOKEN", PARAMETER))
    assert parse_secrets([]) == ()


@pytest.mark.parametrize(("item", "env", "message"), [
    ("TOKEN", (), "expected NAME=ARN"),
    ("TOKEN=", (), "expected NAME=ARN"),
    (f"1TOKEN={SECRET}", (), "not a valid environment variable name"),
    (f"AWS_BATCH_X={SECRET}", (), "reserved"),
    (f"batchmagic_x={SECRET}", (), "reserved"),
    (f"TOKEN={SECRET}", ("TOKEN",), "already set with --env"),
    ("TOKEN=arn:aws:s3:::bucket/key", (), "is not a secret ARN"),
    ("TOKEN=arn:aws:secretsmanager:eu-west-1:1234:secret:x", (), "is not a secret ARN"),
    ("TOKEN=arn:aws:ssm:eu-west-1:123456789012:document/x", (), "is not a secret ARN"),
])
def test_bad_secrets(item: str, env: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_secrets([item], env)


def test_definition_gets_runtime_platform_and_secrets_on_main_only() -> None:
    task = _task()
    add_to_definition(task, platform="fargate", arch="ARM64", secrets=(("DB", SECRET),))
    assert task["runtimePlatform"] == {"cpuArchitecture": "ARM64",
                                       "operatingSystemFamily": "LINUX"}
    assert task["containers"][1]["secrets"] == [{"name": "DB", "valueFrom": SECRET}]
    assert "secrets" not in task["containers"][0] and "secrets" not in task["containers"][2]


def test_x86_and_ec2_definitions_stay_as_they_were() -> None:
    for platform, arch in (("fargate", "X86_64"), ("ec2", "X86_64")):
        task = _task()
        add_to_definition(task, platform=platform, arch=arch, secrets=())
        assert task == _task()


def test_gpus_go_to_main_overrides() -> None:
    containers = [{"name": n, "resourceRequirements": [{"type": "VCPU", "value": "1"}]}
                  for n in ("stage-in", "main", "stage-out")]
    add_gpus(containers, 2)
    assert containers[1]["resourceRequirements"] == [{"type": "VCPU", "value": "1"},
                                                     {"type": "GPU", "value": "2"}]
    assert containers[0]["resourceRequirements"] == [{"type": "VCPU", "value": "1"}]
    add_gpus(containers, None)
    assert len(containers[1]["resourceRequirements"]) == 2

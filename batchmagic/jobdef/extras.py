"""AWS options a job may add: CPU architecture, GPUs, secrets (pure payload building).

AWS facts (botocore's Batch model and the AWS Batch user guide):

- ``runtimePlatform`` (``cpuArchitecture`` X86_64 or ARM64, ``operatingSystemFamily`` LINUX)
  is a Fargate-only task property ("This parameter is required for Amazon ECS jobs that run on
  Fargate resources"; EC2 takes the architecture from the instance types of the compute
  environment).
- GPUs are a ``GPU`` resourceRequirement of a container, EC2 only ("GPUs aren't available for
  jobs that are running on Fargate resources"); TaskContainerOverrides.resourceRequirements
  accepts it, so the count is a per-run override.
- ``secrets`` (``name``, ``valueFrom``) of a container inject a Secrets Manager secret or an SSM
  Parameter Store parameter as an environment variable, resolved by ECS with the *execution
  role*: the value never passes through the kernel, the job definition holds only the ARN.
  ``valueFrom`` is the secret's full ARN (optionally with ``:json-key:version-stage:version-id``)
  or the parameter's full ARN. Secrets are not overridable at submit: they are part of the
  (hash-named) job definition.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from batchmagic.errors import ConfigurationError
from batchmagic.jobdef.layout import MAIN
from batchmagic.jobdef.names import ENV_NAME

ARCHITECTURES = {"x86_64": "X86_64", "arm64": "ARM64"}
MAX_GPUS = 8  # the largest Batch GPU instances (p4d/p5, g5.48xlarge) have 8

_PARTITION = r"arn:aws(?:-cn|-us-gov)?"
_SECRET_ARN = re.compile(
    _PARTITION + r":secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+(?::[^:]*){0,3}\Z")
_PARAMETER_ARN = re.compile(
    _PARTITION + r":ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9/_.-]+\Z")


def validate_arch(arch: str, platform: str) -> str:
    """The runtimePlatform value of ``--arch`` (ConfigurationError when not valid here)."""
    value = ARCHITECTURES.get(arch.lower())
    if value is None:
        raise ConfigurationError(f"--arch {arch!r}: use x86_64 or arm64")
    if platform != "fargate" and value != "X86_64":
        raise ConfigurationError(
            "--arch arm64 is a Fargate setting; on EC2 the compute environment's instance "
            "types decide the architecture (use Graviton instance types there)")
    return value


def validate_gpu(gpu: int | None, platform: str) -> None:
    if gpu is None or gpu == 0:
        return
    if platform == "fargate":
        raise ConfigurationError(
            "--gpu: Fargate has no GPUs; use --platform ec2 with a GPU compute environment "
            "(`batchmagic setup --gpu` creates one)")
    if not 1 <= gpu <= MAX_GPUS:
        raise ConfigurationError(f"--gpu {gpu}: use 1-{MAX_GPUS}")


def parse_secrets(pairs: Sequence[str], env_names: Sequence[str] = ()) -> tuple[tuple[str, str],
                                                                                 ...]:
    """``NAME=ARN`` items -> ((NAME, ARN), ...), each checked (one clear error each)."""
    secrets: dict[str, str] = {}
    for item in pairs:
        name, sep, arn = item.partition("=")
        if not sep or not arn:
            raise ConfigurationError(f"--secret {item!r}: expected NAME=ARN")
        if not ENV_NAME.match(name):
            raise ConfigurationError(f"--secret {name!r}: not a valid environment variable name")
        if name.upper().startswith(("AWS_BATCH", "BATCHMAGIC_")) or name in env_names:
            raise ConfigurationError(
                f"--secret {name}: the name is reserved or already set with --env")
        if not (_SECRET_ARN.match(arn) or _PARAMETER_ARN.match(arn)):
            raise ConfigurationError(
                f"--secret {name}: {arn!r} is not a secret ARN; use "
                "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME or "
                "arn:aws:ssm:REGION:ACCOUNT:parameter/NAME")
        secrets[name] = arn
    return tuple(sorted(secrets.items()))


def add_to_definition(task: dict[str, Any], *, platform: str, arch: str,
                      secrets: Sequence[tuple[str, str]]) -> None:
    """Put the architecture and the secrets into the definition's task properties."""
    if platform == "fargate" and arch != "X86_64":
        # Left out for x86: AWS's default, so existing definitions keep their hash.
        task["runtimePlatform"] = {"cpuArchitecture": arch, "operatingSystemFamily": "LINUX"}
    if secrets:
        main = next(c for c in task["containers"] if c["name"] == MAIN)
        main["secrets"] = [{"name": name, "valueFrom": arn} for name, arn in secrets]


def add_gpus(containers: list[dict[str, Any]], gpu: int | None) -> None:
    """Give main ``gpu`` GPUs in the submit overrides."""
    if gpu:
        main = next(c for c in containers if c["name"] == MAIN)
        main["resourceRequirements"] = [*main["resourceRequirements"],
                                        {"type": "GPU", "value": str(gpu)}]

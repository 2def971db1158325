"""Job sizes: which vCPU/memory pairs AWS accepts, and how a job's size is split between its
three containers.

``--cpu``/``--memory`` are the *task's* totals (what the user pays for on Fargate). AWS Batch has
no task-level size for ``ecsProperties`` jobs: the task size is the sum of the containers'
``resourceRequirements``, and on Fargate that sum must be one of the supported pairs below.

Container split (decision)
--------------------------
Every container gets both a ``VCPU`` and a ``MEMORY`` requirement, the two sidecars a small slice
each and ``main`` the rest, so the containers add up exactly to what the user asked for. This is
what Kestra's own AWS Batch task runner does (kestra-io/plugin-aws,
``src/main/java/io/kestra/plugin/aws/runner/Batch.java``: sidecars get 0.1 vCPU / 128 MiB each,
``main`` gets the request minus the sidecars), and it matches the RegisterJobDefinition
reference (botocore's Batch model, ``ResourceRequirement.value``): Fargate validates the *sum*
against the supported pairs, and AWS's multi-container scenarios give each container its own
VCPU/MEMORY.

- vCPU is a CPU-shares weight per container, while Fargate caps the task as a whole; because the
  sidecars run strictly before and after ``main`` (dependsOn), ``main`` in practice has the whole
  task's CPU. The sidecar slice is ``min(0.125, cpu / 4)`` vCPU: a multiple of 1/1024 vCPU, so it
  converts to whole ECS CPU units (Kestra's 0.1 would be 102.4 units).
- on EC2, every container's VCPU must be a whole number of at least 1: botocore's Batch model
  (``ResourceRequirement.value``, type VCPU: "For Amazon EC2 resources, you must specify at least
  one vCPU"), and AWS refuses fractions ("Value 1.0 for type VCPU in resourceRequirement is not
  valid"); the user guide's multi-container EC2 scenario (``multi-container-jobs-scenarios``)
  gives each container whole vCPUs too. So on EC2 each sidecar reserves 1 vCPU and ``main``
  the rest: the smallest EC2 job is 3 vCPUs (``--cpu 3 --memory 512``). On EC2 a vCPU is a
  placement reservation and a CPU-shares weight, not a cap, so ``main`` can still use the idle
  sidecars' share of the instance while they wait.
- memory per container is a hard limit, so it matters: each sidecar gets ``memory / 16`` MiB,
  clamped to 128..512 (the AWS CLI copying files needs roughly 100 MiB; Kestra uses 128), and
  ``main`` keeps the rest (at least 87.5% of the task).
"""

from __future__ import annotations

from batchmagic.errors import ConfigurationError
from batchmagic.jobdef.layout import MAIN, STAGE_IN, STAGE_OUT

PLATFORMS = ("fargate", "ec2")

# Supported Fargate pairs (vCPU -> valid memory in MiB), from botocore's Batch service model
# (ResourceRequirement.value) and the AWS Fargate task-size table. GPUs are not available.
FARGATE_MEMORY: dict[float, tuple[int, ...]] = {
    0.25: (512, 1024, 2048),
    0.5: tuple(range(1024, 4096 + 1, 1024)),
    1.0: tuple(range(2048, 8192 + 1, 1024)),
    2.0: tuple(range(4096, 16384 + 1, 1024)),
    4.0: tuple(range(8192, 30720 + 1, 1024)),
    8.0: tuple(range(16384, 61440 + 1, 4096)),
    16.0: tuple(range(32768, 122880 + 1, 8192)),
}

# Whole vCPUs per container on EC2 (see the module doc): one per sidecar, at least one for main.
EC2_SIDECAR_VCPU = 1
EC2_MIN_VCPU = 3

# Batch's documented floor: "You must specify at least 4 MiB of memory for a job". A job below a
# few hundred MiB cannot run the AWS CLI sidecars, so ask for something useful.
EC2_MIN_MEMORY = 512

SIDECAR_MAX_VCPU = 0.125
SIDECAR_MIN_MEMORY = 128
SIDECAR_MAX_MEMORY = 512


def _format_cpu(value: float) -> str:
    """A vCPU value as AWS expects it: '1', '0.25', '0.875' (no float noise, no trailing zeros)."""
    text = f"{value:.5f}".rstrip("0").rstrip(".")
    return text or "0"


def _format_memory_list(values: tuple[int, ...]) -> str:
    if len(values) <= 4:
        return ", ".join(str(v) for v in values)
    step = values[1] - values[0]
    return f"{values[0]}-{values[-1]} in steps of {step}"


def validate_size(platform: str, cpu: float, memory: int) -> None:
    """Raise ConfigurationError unless ``cpu``/``memory`` is a job size AWS accepts."""
    if platform not in PLATFORMS:
        raise ConfigurationError(
            f"Unknown platform {platform!r}: use fargate or ec2 (--platform fargate|ec2)."
        )
    if platform == "fargate":
        _validate_fargate(cpu, memory)
    else:
        _validate_ec2(cpu, memory)


def _validate_fargate(cpu: float, memory: int) -> None:
    valid = FARGATE_MEMORY.get(float(cpu))
    if valid is None:
        choices = ", ".join(_format_cpu(c) for c in FARGATE_MEMORY)
        raise ConfigurationError(
            f"Fargate does not offer {_format_cpu(cpu)} vCPU: choose --cpu from {choices} "
            "(more, or GPUs, need --platform ec2)."
        )
    if memory not in valid:
        raise ConfigurationError(
            f"Fargate does not offer {memory} MiB with {_format_cpu(cpu)} vCPU: with --cpu "
            f"{_format_cpu(cpu)}, --memory must be {_format_memory_list(valid)} (MiB)."
        )


def _validate_ec2(cpu: float, memory: int) -> None:
    if float(cpu) != int(cpu):
        raise ConfigurationError(
            f"EC2 jobs need whole vCPUs, not {_format_cpu(cpu)}: use an integer --cpu "
            f"(at least {EC2_MIN_VCPU}), or --platform fargate for fractional sizes."
        )
    if cpu < EC2_MIN_VCPU:
        raise ConfigurationError(
            f"--cpu {_format_cpu(cpu)} is too small for an EC2 job: each of its three containers "
            f"needs a whole vCPU on EC2, so use --cpu {EC2_MIN_VCPU} or more (or --platform "
            "fargate, whose smallest job is 0.25 vCPU)."
        )
    if memory < EC2_MIN_MEMORY:
        raise ConfigurationError(
            f"--memory {memory} MiB is too small for a job of three containers: "
            f"use at least {EC2_MIN_MEMORY} MiB."
        )


def sidecar_size(cpu: float, memory: int, platform: str = "fargate") -> tuple[float, int]:
    """The (vCPU, MiB) slice each of the two sidecars gets from a job of ``cpu``/``memory``."""
    sidecar_cpu = EC2_SIDECAR_VCPU if platform == "ec2" else min(SIDECAR_MAX_VCPU, cpu / 4)
    sidecar_memory = min(SIDECAR_MAX_MEMORY, max(SIDECAR_MIN_MEMORY, memory // 16))
    return sidecar_cpu, sidecar_memory


def container_sizes(platform: str, cpu: float, memory: int) -> dict[str, tuple[str, str]]:
    """Container name -> (VCPU, MEMORY) resourceRequirement values; they add up to the job size.

    Validates the size first (ConfigurationError).
    """
    validate_size(platform, cpu, memory)
    side_cpu, side_memory = sidecar_size(cpu, memory, platform)
    main_cpu = cpu - 2 * side_cpu
    main_memory = memory - 2 * side_memory
    side = (_format_cpu(side_cpu), str(side_memory))
    return {
        STAGE_IN: side,
        MAIN: (_format_cpu(main_cpu), str(main_memory)),
        STAGE_OUT: side,
    }

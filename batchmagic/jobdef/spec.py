"""Pure payload building: settings -> RegisterJobDefinition and SubmitJob keyword arguments.

No AWS calls here. Every payload matches botocore's Batch service model (the tests validate
them with ``botocore.validate.ParamValidator``). The shape is DESIGN.md §2: one job of one task
with three containers sharing a ``work`` volume::

    stage-in  (AWS CLI, non-essential)  copies s3://…/in/  -> /work
    main      (user image, non-essential, dependsOn stage-in SUCCESS) runs the cell
    stage-out (AWS CLI, essential, dependsOn main COMPLETE) copies results -> s3://…/out/

Because only ``stage-out`` is essential, the *job* can succeed while ``main`` failed: callers
must read ``main``'s exit code from DescribeJobs.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from batchmagic.errors import ConfigurationError
from batchmagic.jobdef.extras import add_gpus, add_to_definition, validate_arch, validate_gpu
from batchmagic.jobdef.layout import (
    ENV_BUILD_DIR,
    INTERNAL_DIR,
    MAIN,
    MIN_TIMEOUT_SECONDS,
    OUTPUT_DIR,
    OUTPUT_SUBDIR,
    PULL_FILE,
    RESULT_FILE,
    STAGE_IN,
    STAGE_OUT,
    VOLUME_NAME,
    WORK_DIR,
    output_filters,
)
from batchmagic.jobdef.names import JOB_NAME
from batchmagic.jobdef.sizes import EC2_MIN_VCPU, container_sizes
from batchmagic.settings import MANAGED_TAG, Settings

MAIN_COMMAND = ["python", f"{WORK_DIR}/{INTERNAL_DIR}/bootstrap.py"]
# The AWS CLI image's entrypoint is `aws`; the definition's sidecar commands are placeholders
# (`aws --version`), the real per-run `s3 cp` commands come through SubmitJob overrides.
SIDECAR_PLACEHOLDER_COMMAND = ["--version"]

DEFINITION_PREFIX = "batchmagic-"


EPHEMERAL_MIN_GIB, EPHEMERAL_MAX_GIB = 21, 200


@dataclass(frozen=True)
class JobSpec:
    """Everything about a job that does not change from run to run (plus its size and timeout)."""

    image: str
    sidecar_image: str
    platform: str
    cpu: float
    memory: int
    region: str
    execution_role: str | None = None
    task_role: str | None = None
    ephemeral_storage: int | None = None
    timeout: int | None = None
    arch: str = "X86_64"
    gpu: int | None = None
    secrets: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings, region: str,
                      secrets: tuple[tuple[str, str], ...] = ()) -> JobSpec:
        """Build and validate a spec from effective settings (ConfigurationError if invalid)."""
        spec = cls(
            image=settings.image,
            sidecar_image=settings.sidecar_image,
            platform=settings.platform.lower(),
            cpu=float(settings.cpu),
            memory=int(settings.memory),
            region=region,
            execution_role=settings.execution_role,
            task_role=settings.task_role,
            ephemeral_storage=settings.ephemeral_storage,
            timeout=settings.timeout,
            arch=validate_arch(settings.arch, settings.platform.lower()),
            gpu=settings.gpu,
            secrets=secrets,
        )
        spec.validate()
        return spec

    @property
    def is_fargate(self) -> bool:
        return self.platform == "fargate"

    @functools.cached_property
    def sizes(self) -> dict[str, tuple[str, str]]:
        """Each container's (VCPU, MEMORY) share of the job size, worked out (and the size
        validated) once per spec."""
        return container_sizes(self.platform, self.cpu, self.memory)

    def validate(self) -> None:
        """Check size, storage and timeout before any AWS call."""
        _ = self.sizes  # working out each container's share validates the job size
        validate_gpu(self.gpu, self.platform)
        if not self.image:
            raise ConfigurationError("No container image: set --image.")
        if self.ephemeral_storage is not None:
            if not self.is_fargate:
                raise ConfigurationError(
                    "--ephemeral-storage only applies to Fargate; on EC2 the instance's "
                    "disk (launch template) decides."
                )
            if not EPHEMERAL_MIN_GIB <= self.ephemeral_storage <= EPHEMERAL_MAX_GIB:
                raise ConfigurationError(
                    f"--ephemeral-storage must be {EPHEMERAL_MIN_GIB}-{EPHEMERAL_MAX_GIB} GiB "
                    f"(Fargate gives 20 GiB when unset), not {self.ephemeral_storage}."
                )
        if self.timeout is not None and self.timeout < MIN_TIMEOUT_SECONDS:
            raise ConfigurationError(
                f"--timeout: AWS Batch needs at least {MIN_TIMEOUT_SECONDS} seconds"
            )


# --- job definition ----------------------------------------------------------------------------


def _mount_points() -> list[dict[str, Any]]:
    return [{"sourceVolume": VOLUME_NAME, "containerPath": WORK_DIR, "readOnly": False}]


def _resources(vcpu: str, memory: str) -> list[dict[str, str]]:
    return [{"type": "VCPU", "value": vcpu}, {"type": "MEMORY", "value": memory}]


def _env(mapping: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in mapping.items()]


def _static_main_env() -> dict[str, str]:
    return {
        "BATCHMAGIC_WORKDIR": WORK_DIR,
        "BATCHMAGIC_OUTPUT_DIR": OUTPUT_DIR,
        # Without it, a Python main container block-buffers stdout and the logs arrive at the end.
        "PYTHONUNBUFFERED": "1",
    }


def _baseline_sizes(platform: str) -> dict[str, tuple[str, str]]:
    """The sizes written into the definition: the platform's smallest job.

    The real size of every run comes through SubmitJob overrides, so changing --cpu/--memory
    reuses the same definition instead of registering a new one.
    """
    if platform == "fargate":
        return container_sizes(platform, 0.25, 512)
    return container_sizes(platform, EC2_MIN_VCPU, 2048)


def _definition_body(spec: JobSpec) -> dict[str, Any]:
    """The definition's content, without its name (the name is a hash of this)."""
    sizes = _baseline_sizes(spec.platform)
    containers = [
        {
            "name": STAGE_IN,
            "image": spec.sidecar_image,
            "command": list(SIDECAR_PLACEHOLDER_COMMAND),
            "essential": False,
            "mountPoints": _mount_points(),
            "resourceRequirements": _resources(*sizes[STAGE_IN]),
        },
        {
            "name": MAIN,
            "image": spec.image,
            "command": list(MAIN_COMMAND),
            "essential": False,
            "dependsOn": [{"containerName": STAGE_IN, "condition": "SUCCESS"}],
            "environment": _env(_static_main_env()),
            "mountPoints": _mount_points(),
            "resourceRequirements": _resources(*sizes[MAIN]),
        },
        {
            "name": STAGE_OUT,
            "image": spec.sidecar_image,
            "command": list(SIDECAR_PLACEHOLDER_COMMAND),
            # The only essential container: COMPLETE (not SUCCESS) so the outputs of a failed
            # cell come back too. AWS refuses COMPLETE/SUCCESS conditions on an essential target.
            "essential": True,
            "dependsOn": [{"containerName": MAIN, "condition": "COMPLETE"}],
            "mountPoints": _mount_points(),
            "resourceRequirements": _resources(*sizes[STAGE_OUT]),
        },
    ]
    # A named task volume without `host`: scratch space shared by the containers. Fargate rejects
    # `host`; on EC2 a volume without it is a Docker-managed scratch volume too.
    task: dict[str, Any] = {"containers": containers, "volumes": [{"name": VOLUME_NAME}]}
    if spec.execution_role:
        task["executionRoleArn"] = spec.execution_role
    if spec.task_role:
        task["taskRoleArn"] = spec.task_role
    if spec.is_fargate:
        # Public IP: a default-VPC subnet has no NAT gateway, and without a public IP the task
        # cannot pull public images (ECR Public) nor reach S3. EC2 jobs must not send this.
        task["networkConfiguration"] = {"assignPublicIp": "ENABLED"}
        if spec.ephemeral_storage is not None:
            task["ephemeralStorage"] = {"sizeInGiB": spec.ephemeral_storage}
        # runtimePlatform only for --arch arm64: AWS defaults to LINUX/X86_64, which every
        # default image (python, aws-cli) supports.
    add_to_definition(task, platform=spec.platform, arch=spec.arch, secrets=spec.secrets)
    return {
        "type": "container",
        "platformCapabilities": ["FARGATE" if spec.is_fargate else "EC2"],
        "ecsProperties": {"taskProperties": [task]},
        "tags": dict(MANAGED_TAG),
        "propagateTags": True,
    }


def job_definition_name(spec: JobSpec) -> str:
    """``batchmagic-`` + 16 hex digits of the definition's content: same content, same name."""
    canonical = json.dumps(_definition_body(spec), sort_keys=True, separators=(",", ":"))
    return DEFINITION_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def job_definition_payload(spec: JobSpec) -> dict[str, Any]:
    """RegisterJobDefinition keyword arguments for ``spec``."""
    return {"jobDefinitionName": job_definition_name(spec), **_definition_body(spec)}


# --- submit ------------------------------------------------------------------------------------


def stage_in_command(in_uri: str) -> list[str]:
    return ["s3", "cp", in_uri, WORK_DIR, "--recursive", "--only-show-errors"]


def stage_out_command(out_uri: str, output_patterns: Sequence[str]) -> list[str]:
    # --exclude "*" first, then the includes: the AWS CLI applies filters in order, last match
    # wins, and roots each pattern at the source directory. `*` also matches "/".
    # --no-follow-symlinks: a link the cell made (to "/", to a host file) is never followed, so
    # nothing from outside the work dir comes back (the bootstrap reports the skipped links).
    command = ["s3", "cp", WORK_DIR, out_uri, "--recursive", "--no-follow-symlinks",
               "--exclude", "*"]
    for pattern in (
        RESULT_FILE,
        PULL_FILE,
        f"{ENV_BUILD_DIR}/*",  # an environment the job built, for the cache
        f"{OUTPUT_SUBDIR}/*",
        *output_filters(output_patterns),
    ):
        command += ["--include", pattern]
    return [*command, "--only-show-errors"]


def main_environment(environment: Mapping[str, str], pull_names: Sequence[str],
                     output_patterns: Sequence[str] = ()) -> dict[str, str]:
    """The user's environment plus ours (ours win: the bootstrap depends on them)."""
    env = {
        **environment,
        **_static_main_env(),
        "BATCHMAGIC_PULL": ",".join(pull_names),
    }
    if output_patterns:  # the bootstrap names the links among them that stage-out skips
        env["BATCHMAGIC_OUTPUTS"] = json.dumps(output_filters(output_patterns))
    return env


def submit_payload(
    *,
    spec: JobSpec,
    job_name: str,
    job_queue: str,
    job_definition: str,
    in_uri: str,
    out_uri: str,
    output_patterns: Sequence[str],
    pull_names: Sequence[str],
    environment: Mapping[str, str],
    tags: Mapping[str, str],
) -> dict[str, Any]:
    """SubmitJob keyword arguments: the run's commands, environment and sizes as overrides."""
    if not JOB_NAME.match(job_name):
        raise ConfigurationError(
            f"Invalid job name {job_name!r}: use 1-128 letters, digits, '-' or '_', starting "
            "with a letter or digit."
        )
    for uri in (in_uri, out_uri):
        if not uri.startswith("s3://"):
            raise ConfigurationError(f"Expected an s3:// URI, got {uri!r}.")
    sizes = spec.sizes
    containers = [
        {
            "name": STAGE_IN,
            "command": stage_in_command(in_uri),
            "resourceRequirements": _resources(*sizes[STAGE_IN]),
        },
        {
            "name": MAIN,
            "command": list(MAIN_COMMAND),
            "environment": _env(main_environment(environment, pull_names, output_patterns)),
            "resourceRequirements": _resources(*sizes[MAIN]),
        },
        {
            "name": STAGE_OUT,
            "command": stage_out_command(out_uri, output_patterns),
            "resourceRequirements": _resources(*sizes[STAGE_OUT]),
        },
    ]
    add_gpus(containers, spec.gpu)
    payload: dict[str, Any] = {
        "jobName": job_name,
        "jobQueue": job_queue,
        "jobDefinition": job_definition,
        "ecsPropertiesOverride": {"taskProperties": [{"containers": containers}]},
        "tags": {**tags, **MANAGED_TAG},
        "propagateTags": True,
    }
    if spec.timeout is not None:
        payload["timeout"] = {"attemptDurationSeconds": spec.timeout}
    return payload

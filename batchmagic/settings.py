"""Every setting batchmagic knows, its built-in default and its help: one list, used by the magic's
options, the traitlets configuration, ``BATCHMAGIC_*`` environment variables, the settings file
that ``batchmagic setup`` writes and ``%aws_batch_config``.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_SIDECAR_IMAGE = "public.ecr.aws/aws-cli/aws-cli:latest"
LOG_GROUP = "/aws/batch/job"
# Every resource and job definition batchmagic creates carries this tag (teardown finds them by it).
MANAGED_TAG_KEY = "batchmagic:managed"
MANAGED_TAG = {MANAGED_TAG_KEY: "true"}


def default_python_image() -> str:
    """The official Python image with the kernel's own major.minor, so pickles and syntax match."""
    major, minor = sys.version_info[:2]
    return f"public.ecr.aws/docker/library/python:{major}.{minor}-slim"


def default_user() -> str:
    """The S3 prefix's user part: the JupyterHub user, else the OS user."""
    user = os.environ.get("JUPYTERHUB_USER") or ""
    if not user:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "user"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in user) or "user"


def state_dir() -> Path:
    """Per-user state (ledger, background emulator): $BATCHMAGIC_STATE_DIR or XDG state home."""
    explicit = os.environ.get("BATCHMAGIC_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "batchmagic"


def settings_file() -> Path:
    """Where `batchmagic setup` writes the settings it created: $BATCHMAGIC_CONFIG or XDG config."""
    explicit = os.environ.get("BATCHMAGIC_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "batchmagic" / "settings.json"


@dataclass(frozen=True)
class Settings:
    """Effective values for one run. ``None`` means "not configured" where that is meaningful."""

    region: str | None = field(
        default=None, metadata={"help": "AWS region (default: the profile's, else us-east-1)"}
    )
    profile: str | None = field(
        default=None, metadata={"help": "AWS named profile for credentials"}
    )
    endpoint_url: str | None = field(
        default=None, metadata={"help": "AWS endpoint URL (all services), e.g. an emulator"}
    )
    local: bool = field(default=False, metadata={"help": "run on the embedded local emulator"})
    bucket: str | None = field(
        default=None, metadata={"help": "S3 bucket for staged inputs and outputs"}
    )
    prefix: str = field(
        default="batchmagic", metadata={"help": "S3 key prefix; runs go under PREFIX/USER/RUN_ID/"}
    )
    user: str = field(
        default_factory=default_user,
        metadata={"help": "user part of the S3 prefix (JupyterHub user, else OS user)"},
    )
    queue: str | None = field(
        default=None, metadata={"help": "job queue name or ARN (created once when unset)"}
    )
    compute_environment: str | None = field(
        default=None, metadata={"help": "compute environment name or ARN"}
    )
    execution_role: str | None = field(
        default=None, metadata={"help": "ECS task execution role ARN (required on Fargate)"}
    )
    task_role: str | None = field(
        default=None, metadata={"help": "IAM role ARN the containers run as (S3 access)"}
    )
    image: str = field(
        default_factory=default_python_image,
        metadata={"help": "container image of the main container"},
    )
    sidecar_image: str = field(
        default=DEFAULT_SIDECAR_IMAGE,
        metadata={"help": "AWS CLI image of the stage-in/stage-out sidecars"},
    )
    cpu: float = field(
        default=1.0, metadata={"help": "vCPUs of the job (Fargate: 0.25, 0.5, 1, 2, 4, 8, 16)"}
    )
    memory: int = field(default=2048, metadata={"help": "memory of the job in MiB"})
    platform: str = field(default="fargate", metadata={"help": "fargate or ec2"})
    timeout: int | None = field(
        default=None, metadata={"help": "seconds before Batch stops the job (>= 60)"}
    )
    ephemeral_storage: int | None = field(
        default=None, metadata={"help": "Fargate ephemeral storage in GiB (21-200; AWS default 20)"}
    )
    arch: str = field(
        default="x86_64",
        metadata={"help": "CPU architecture on Fargate: x86_64 or arm64 (the price follows)"},
    )
    gpu: int | None = field(
        default=None, metadata={"help": "GPUs of the main container (EC2 only)"}
    )
    spot: bool = field(
        default=False, metadata={"help": "run on the Spot queue (spot_queue; setup --spot)"}
    )
    spot_queue: str | None = field(
        default=None, metadata={"help": "job queue of the Spot compute environment"}
    )
    gpu_queue: str | None = field(
        default=None, metadata={"help": "job queue of the GPU compute environment (--gpu)"}
    )
    runnable_timeout: int | None = field(
        default=None,
        metadata={"help": "cancel a job that has not started after this many seconds"},
    )
    diagnose_after: int = field(
        default=30,
        metadata={"help": "seconds a job may wait to start before its wait is diagnosed"},
    )
    output_dir: str = field(
        default=".", metadata={"help": "local directory the output files are written to"}
    )
    keep: bool = field(default=False, metadata={"help": "keep the run's S3 prefix after the run"})
    template: bool = field(default=True, metadata={"help": "render the cell as a Jinja2 template"})
    log_tail: int = field(
        default=1000,
        metadata={"help": "log lines per container shown in the widget (run.logs keeps all)"},
    )
    deps: str = field(
        default="auto",
        metadata={"help": "auto: install the kernel's versions of the packages the cell imports "
                          "in the job; none: only --pip/--requirements"},
    )
    on_shutdown: str = field(
        default="leave",
        metadata={"help": "what a kernel shutdown does to running jobs: leave or terminate"},
    )

    def with_values(self, **values: Any) -> Settings:
        """A copy with the given values, ignoring ``None`` (an option that was not given)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


SETTING_NAMES = tuple(f.name for f in fields(Settings))


def setting_help(name: str) -> str:
    for f in fields(Settings):
        if f.name == name:
            return str(f.metadata.get("help", ""))
    raise KeyError(name)


def read_settings_file(path: Path | None = None) -> dict[str, Any]:
    """Values written by `batchmagic setup`; unknown keys are ignored, a missing file is empty."""
    path = path or settings_file()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k in SETTING_NAMES}


def write_settings_file(values: dict[str, Any], path: Path | None = None) -> Path:
    """Merge ``values`` into the settings file, atomically."""
    path = path or settings_file()
    merged = read_settings_file(path)
    merged.update({k: v for k, v in values.items() if k in SETTING_NAMES})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path

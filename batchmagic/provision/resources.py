"""What `batchmagic setup` creates, as data: names, tags, trust and permission policies."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from batchmagic.errors import ConfigurationError
from batchmagic.settings import MANAGED_TAG, MANAGED_TAG_KEY

DEFAULT_NAME = "batchmagic"
DEFAULT_PREFIX = "batchmagic"
LOG_RETENTION_DAYS = 30
RUN_EXPIRY_DAYS = 7
MAX_VCPUS = 64
PLATFORMS = ("fargate", "ec2")

TAG_MANAGED = MANAGED_TAG_KEY
MANAGED_VALUE = MANAGED_TAG[MANAGED_TAG_KEY]
# A job that can never start (too big for the compute environment, or the environment at its
# limit) is cancelled after 10 minutes RUNNABLE instead of waiting forever (CreateJobQueue
# jobStateTimeLimitActions; 600 s is the minimum AWS accepts).
TIME_LIMIT_ACTIONS = [
    {"reason": reason, "state": "RUNNABLE", "maxTimeSeconds": 600, "action": "CANCEL"}
    for reason in ("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
                   "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE")
]
TAG_NAME = "batchmagic:name"

EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
INSTANCE_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
TASK_POLICY_NAME = "batchmagic-s3"
ECS_TASKS = "ecs-tasks.amazonaws.com"
EC2 = "ec2.amazonaws.com"

# Letters, digits and hyphens fit every resource kind at once (IAM, Batch, EC2 and, in lower
# case, S3). 40 characters leave room for the suffixes within IAM's 64-character role names.
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,39}$")


def check_name(name: str) -> str:
    """``name`` if it can prefix every resource; otherwise a ConfigurationError saying why."""
    if not _NAME.match(name):
        raise ConfigurationError(
            f"--name {name!r}: use 1-40 letters, digits and hyphens, starting with a letter"
        )
    return name


@dataclass(frozen=True)
class Names:
    """The name of every resource of one setup, derived from its prefix."""

    name: str = DEFAULT_NAME

    @property
    def execution_role(self) -> str:
        return f"{self.name}-execution"

    @property
    def task_role(self) -> str:
        return f"{self.name}-task"

    @property
    def instance_role(self) -> str:
        return f"{self.name}-ecs-instance"

    @property
    def instance_profile(self) -> str:
        return f"{self.name}-ecs-instance"

    @property
    def security_group(self) -> str:
        return f"{self.name}-jobs"

    @property
    def queue(self) -> str:
        return f"{self.name}-queue"

    @property
    def spot_queue(self) -> str:
        return f"{self.name}-spot-queue"

    @property
    def gpu_queue(self) -> str:
        return f"{self.name}-gpu-queue"

    def compute_environment(self, platform: str) -> str:
        return f"{self.name}-{platform}"

    def default_bucket(self, account: str, region: str) -> str:
        # S3 names are global and lower case: the account and region make the default unique.
        return f"{self.name.lower()}-{account}-{region}"


def tags(name: str) -> dict[str, str]:
    """The tags every resource of setup ``name`` carries; teardown finds resources by them."""
    return {**MANAGED_TAG, TAG_NAME: name}


def tag_list(name: str) -> list[dict[str, str]]:
    """The tags as IAM, EC2 and S3 spell them."""
    return [{"Key": k, "Value": v} for k, v in tags(name).items()]


def is_ours(found: dict[str, str] | list[dict[str, str]] | None, name: str) -> bool:
    """True when a resource's tags say setup ``name`` created it."""
    if isinstance(found, list):
        found = {t.get("Key", ""): t.get("Value", "") for t in found}
    found = found or {}
    return found.get(TAG_MANAGED) == MANAGED_VALUE and found.get(TAG_NAME) == name


def trust_policy(service: str) -> str:
    """The trust policy that lets ``service`` assume a role."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }],
    })


def task_policy(bucket: str, prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    """What the containers may do: list, read, write and delete the runs under ``prefix`` only."""
    prefix = prefix.strip("/")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListRuns",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*"]}},
            },
            {
                "Sid": "ReadWriteRuns",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": f"arn:aws:s3:::{bucket}/{prefix}/*",
            },
        ],
    }


PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}

ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


def lifecycle(prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    """Runs left behind (``--keep``, a crashed kernel) expire; half-done uploads are aborted."""
    return {
        "Rules": [{
            "ID": "batchmagic-expire-runs",
            "Filter": {"Prefix": f"{prefix.strip('/')}/"},
            "Status": "Enabled",
            "Expiration": {"Days": RUN_EXPIRY_DAYS},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }],
    }


def role_name(arn_or_name: str) -> str:
    """The role name of a role ARN (``arn:aws:iam::1:role/path/NAME``), or the name itself."""
    return arn_or_name.rsplit("/", 1)[-1]


def policy_document(document: Any) -> dict[str, Any]:
    """A policy document as a dict: IAM returns it URL-encoded in the raw API, boto3 decodes it."""
    if isinstance(document, str):
        import urllib.parse

        document = json.loads(urllib.parse.unquote(document))
    return document if isinstance(document, dict) else {}


def trusted_services(document: Any) -> set[str]:
    """The services a trust policy lets assume the role."""
    found: set[str] = set()
    statements = policy_document(document).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        service = (statement.get("Principal") or {}).get("Service", [])
        found.update([service] if isinstance(service, str) else service)
    return found


SECRETS_POLICY_NAME = "batchmagic-secrets"
# GPU instance families for `setup --gpu` (AWS Batch picks the size within each family).
GPU_INSTANCE_TYPES = ("g4dn", "g5")


def partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else (
        "aws-us-gov" if region.startswith("us-gov-") else "aws")


def secrets_policy(region: str, account: str, prefix: str) -> dict[str, Any]:
    """Read access for the execution role to the secrets and parameters under ``prefix`` only:
    ECS resolves container ``secrets`` with the execution role (Amazon ECS developer guide,
    "Required IAM permissions for Amazon ECS secrets")."""
    arn = f"arn:{partition(region)}"
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": f"{arn}:secretsmanager:{region}:{account}:secret:{prefix}*"},
        {"Effect": "Allow", "Action": "ssm:GetParameters",
         "Resource": f"{arn}:ssm:{region}:{account}:parameter/{prefix.lstrip('/')}*"},
    ]}

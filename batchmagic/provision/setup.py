"""`ensure_setup`: create what a batchmagic run needs, reuse what exists, change nothing twice.

Resources, in the order they are made: the log group ``/aws/batch/job``, the bucket, the execution
role, the task role (S3 access to the runs prefix only), on EC2 the instance role and profile, the
jobs' security group in the default VPC, the compute environment and the job queue. Each is tagged
``batchmagic:managed=true`` and ``batchmagic:name=<name>``, which is how teardown finds them.
Existing resources are reused as they are; only ones setup itself tagged are ever updated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from batchmagic.aws.clients import AwsClients
from batchmagic.errors import ConfigurationError
from batchmagic.jobdef.sizes import EC2_MIN_VCPU
from batchmagic.provision import resources as res
from batchmagic.provision.calls import call
from batchmagic.provision.report import REUSED, ResourceResult
from batchmagic.provision.setup_base import Report, SetupContext
from batchmagic.provision.setup_batch import BatchSteps
from batchmagic.provision.setup_iam import IamSteps
from batchmagic.provision.setup_network import NetworkSteps
from batchmagic.provision.setup_storage import StorageSteps

# Batch reports a new compute environment VALID within seconds on Fargate; EC2 can take minutes.
DEFAULT_TIMEOUT = 600.0


@dataclass
class SetupResult:
    """What setup found or made, and the settings that point batchmagic at it."""

    settings: dict[str, Any]
    resources: list[ResourceResult] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return any(r.action not in (REUSED,) for r in self.resources)

    def config_line(self) -> str:
        """The ``%aws_batch_config`` line that sets the same values in a notebook."""
        options = ("region", "endpoint_url", "bucket", "queue", "compute_environment",
                   "execution_role", "task_role", "platform", "spot_queue", "gpu_queue", "cpu")
        parts = ["%aws_batch_config"]
        for key in options:
            value = self.settings.get(key)
            if value:
                parts.append(f"--{key.replace('_', '-')} {value}")
        return " ".join(parts)


def ensure_setup(
    clients: AwsClients,
    *,
    name: str = res.DEFAULT_NAME,
    bucket: str | None = None,
    platform: str = "fargate",
    region: str,
    prefix: str = res.DEFAULT_PREFIX,
    dry_run: bool = False,
    report: Report | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    spot: bool = False,
    secrets_prefix: str | None = None,
    gpu: bool = False,
) -> SetupResult:
    """Create the missing resources of setup ``name`` and reuse the existing ones.

    ``report`` is called once per resource as soon as it is settled. With ``dry_run`` only read
    calls are made and the actions say "would create". Returns the settings to use (region,
    bucket, prefix, queue, compute_environment, execution_role, task_role, platform,
    endpoint_url). Raises AwsError (one line: the call, AWS's reason, the fix) or
    ConfigurationError.
    """
    if platform not in res.PLATFORMS:
        raise ConfigurationError(f"--platform {platform!r}: use fargate or ec2")
    context = SetupContext(clients, res.Names(res.check_name(name)), region, dry_run, report,
                           timeout)
    run = _Setup(context)
    return run.all(bucket, platform, prefix, spot, secrets_prefix, gpu)


class _Setup:
    """One run of setup: its steps, each in its own module, share one context and run in order.
    """

    def __init__(self, context: SetupContext) -> None:
        self.context = context
        self.storage = StorageSteps(context)
        self.iam = IamSteps(context)
        self.network = NetworkSteps(context)
        self.batch = BatchSteps(context)

    def all(self, bucket: str | None, platform: str, prefix: str, spot: bool,
            secrets_prefix: str | None = None, gpu: bool = False) -> SetupResult:
        context, names = self.context, self.context.names
        identity = call("sts:GetCallerIdentity", context.clients.sts.get_caller_identity)
        context.account = str(identity["Account"])
        bucket = bucket or names.default_bucket(context.account, context.region)
        self.storage.log_group()
        self.storage.bucket(bucket, prefix)
        execution_role = self.iam.role("execution role", names.execution_role, res.ECS_TASKS,
                                       res.EXECUTION_POLICY_ARN,
                                       "batchmagic: lets ECS pull images and write job logs")
        if secrets_prefix:
            self.iam.secrets_access(names.execution_role, secrets_prefix)
        task_role = self.iam.task_role(bucket, prefix)
        instance_profile = self.iam.instance_profile() if platform == "ec2" or gpu else None
        vpc, subnets = self.network.default_network()
        group = self.network.security_group(vpc)
        ce_name = names.compute_environment(platform)
        ce_arn = self.batch.compute_environment(ce_name, platform, subnets, group,
                                                instance_profile)
        self.batch.queue(ce_name, ce_arn)
        settings: dict[str, Any] = {
            "region": context.region,
            "bucket": bucket,
            "prefix": prefix,
            "queue": names.queue,
            "compute_environment": ce_name,
            "execution_role": execution_role,
            "task_role": task_role,
            "platform": platform,
            "endpoint_url": context.clients.target.endpoint_url,
        }
        if spot:
            spot_ce = f"{ce_name}-spot"
            spot_arn = self.batch.compute_environment(spot_ce, platform, subnets, group,
                                                      instance_profile, spot=True)
            self.batch.queue(spot_ce, spot_arn, names.spot_queue)
            settings["spot_queue"] = names.spot_queue
        if gpu:
            gpu_ce = names.compute_environment("ec2-gpu")
            gpu_arn = self.batch.compute_environment(gpu_ce, "ec2", subnets, group,
                                                     instance_profile,
                                                     instance_types=res.GPU_INSTANCE_TYPES)
            self.batch.queue(gpu_ce, gpu_arn, names.gpu_queue)
            settings["gpu_queue"] = names.gpu_queue
        if platform == "ec2":
            # Every container needs a whole vCPU on EC2: the built-in 1 vCPU job is refused.
            settings["cpu"] = str(EC2_MIN_VCPU)
        return SetupResult(settings, context.results, context.dry_run)

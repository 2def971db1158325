"""`ensure_setup`: create what a batchmagic run needs, reuse what exists, change nothing twice.

Resources, in the order they are made: the log group ``/aws/batch/job``, the bucket, the execution
role, the task role (S3 access to the runs prefix only), on EC2 the instance role and profile, the
jobs' security group in the default VPC, the compute environment and the job queue. Each is tagged
``batchmagic:managed=true`` and ``batchmagic:name=<name>``, which is how teardown finds them.
Existing resources are reused as they are; only ones setup itself tagged are ever updated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batchmagic.aws import AwsClients
from batchmagic.errors import AwsError, ConfigurationError
from batchmagic.provision import resources as res
from batchmagic.provision.calls import call, wait_until
from batchmagic.provision.report import (
    CREATED,
    REUSED,
    UPDATED,
    WOULD_CREATE,
    WOULD_UPDATE,
    ResourceResult,
)

Report = Callable[[ResourceResult], None]

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
                   "execution_role", "task_role", "platform")
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
    run = _Setup(clients, res.Names(res.check_name(name)), region, dry_run, report, timeout)
    return run.all(bucket, platform, prefix)


class _Setup:
    def __init__(self, clients: AwsClients, names: res.Names, region: str, dry_run: bool,
                 report: Report | None, timeout: float) -> None:
        self.clients = clients
        self.names = names
        self.region = region
        self.dry_run = dry_run
        self.report = report
        self.timeout = timeout
        self.results: list[ResourceResult] = []
        self.account = ""

    def all(self, bucket: str | None, platform: str, prefix: str) -> SetupResult:
        identity = call("sts:GetCallerIdentity", self.clients.sts.get_caller_identity)
        self.account = str(identity["Account"])
        bucket = bucket or self.names.default_bucket(self.account, self.region)
        self.log_group()
        self.bucket(bucket, prefix)
        execution_role = self.role("execution role", self.names.execution_role, res.ECS_TASKS,
                                   res.EXECUTION_POLICY_ARN,
                                   "batchmagic: lets ECS pull images and write job logs")
        task_role = self.task_role(bucket, prefix)
        instance_profile = self.instance_profile() if platform == "ec2" else None
        vpc, subnets = self.default_network()
        group = self.security_group(vpc)
        ce_name = self.names.compute_environment(platform)
        ce_arn = self.compute_environment(ce_name, platform, subnets, group, instance_profile)
        self.queue(ce_name, ce_arn)
        settings = {
            "region": self.region,
            "bucket": bucket,
            "prefix": prefix,
            "queue": self.names.queue,
            "compute_environment": ce_name,
            "execution_role": execution_role,
            "task_role": task_role,
            "platform": platform,
            "endpoint_url": self.clients.target.endpoint_url,
        }
        return SetupResult(settings, self.results, self.dry_run)

    # -- helpers --------------------------------------------------------------------------------

    def emit(self, kind: str, name: str, action: str, arn: str = "", detail: str = "") -> None:
        result = ResourceResult(kind, name, action, arn, detail)
        self.results.append(result)
        if self.report is not None:
            self.report(result)

    def new(self, action: str) -> str:
        """The action for a resource that is missing (or needs an update)."""
        if action == UPDATED:
            return WOULD_UPDATE if self.dry_run else UPDATED
        return WOULD_CREATE if self.dry_run else CREATED

    def ours(self, found_tags: Any) -> bool:
        return res.is_ours(found_tags, self.names.name)

    def foreign(self, found_tags: Any) -> str:
        return "" if self.ours(found_tags) else "not created by this setup; teardown keeps it"

    # -- log group ------------------------------------------------------------------------------

    def log_group(self) -> None:
        logs = self.clients.logs
        groups = call("logs:DescribeLogGroups", logs.describe_log_groups,
                      logGroupNamePrefix=res.LOG_GROUP)["logGroups"]
        if any(g["logGroupName"] == res.LOG_GROUP for g in groups):
            self.emit("log group", res.LOG_GROUP, REUSED)
            return
        if not self.dry_run:
            call("logs:CreateLogGroup", logs.create_log_group, logGroupName=res.LOG_GROUP,
                 tags=res.tags(self.names.name))
            # Retention only on a group we create: an existing one keeps its owner's choice.
            call("logs:PutRetentionPolicy", logs.put_retention_policy,
                 logGroupName=res.LOG_GROUP, retentionInDays=res.LOG_RETENTION_DAYS)
        self.emit("log group", res.LOG_GROUP, self.new(CREATED),
                  detail=f"retention {res.LOG_RETENTION_DAYS} days")

    # -- bucket ---------------------------------------------------------------------------------

    def bucket(self, bucket: str, prefix: str) -> None:
        s3 = self.clients.s3
        try:
            call("s3:HeadBucket", s3.head_bucket, Bucket=bucket)
        except AwsError as error:
            if error.code == "403":
                raise AwsError(
                    f"s3:HeadBucket failed: bucket {bucket} exists but these credentials cannot "
                    "use it (403) - fix: choose another name with --bucket",
                    code="403", operation="s3:HeadBucket") from error
            if error.code not in ("404", "NoSuchBucket"):
                raise
        else:
            self.reuse_bucket(bucket, prefix)
            return
        if not self.dry_run:
            create: dict[str, Any] = {"Bucket": bucket}
            # us-east-1 is the one region that rejects an explicit LocationConstraint.
            if self.region != "us-east-1":
                create["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            call("s3:CreateBucket", s3.create_bucket, **create)
            call("s3:PutBucketTagging", s3.put_bucket_tagging, Bucket=bucket,
                 Tagging={"TagSet": res.tag_list(self.names.name)})
            for part in _BUCKET_PARTS:
                part.put(s3, bucket, prefix)
        self.emit("bucket", bucket, self.new(CREATED),
                  detail=f"private, AES256, runs expire after {res.RUN_EXPIRY_DAYS} days")

    def reuse_bucket(self, bucket: str, prefix: str) -> None:
        s3 = self.clients.s3
        try:
            tag_set = call("s3:GetBucketTagging", s3.get_bucket_tagging, Bucket=bucket)["TagSet"]
        except AwsError as error:
            if error.code != "NoSuchTagSet":
                raise
            tag_set = []
        if not self.ours(tag_set):
            # Someone else's bucket: its lifecycle rules would be replaced by ours, so no changes.
            self.emit("bucket", bucket, REUSED, detail=self.foreign(tag_set))
            return
        # A setup interrupted after CreateBucket left parts unconfigured: complete them.
        missing = [part for part in _BUCKET_PARTS if not part.present(s3, bucket)]
        if not missing:
            self.emit("bucket", bucket, REUSED)
            return
        if not self.dry_run:
            for part in missing:
                part.put(s3, bucket, prefix)
        self.emit("bucket", bucket, self.new(UPDATED),
                  detail="added " + ", ".join(part.label for part in missing))

    # -- IAM ------------------------------------------------------------------------------------

    def get_role(self, role_name: str) -> dict[str, Any] | None:
        try:
            role: dict[str, Any] = call("iam:GetRole", self.clients.iam.get_role,
                                        RoleName=role_name)["Role"]
            return role
        except AwsError as error:
            if error.code == "NoSuchEntity":
                return None
            raise

    def create_role(self, role_name: str, service: str, policy_arn: str | None,
                    description: str) -> str:
        iam = self.clients.iam
        if self.dry_run:
            return f"arn:aws:iam::{self.account}:role/{role_name}"
        role = call("iam:CreateRole", iam.create_role, RoleName=role_name,
                    AssumeRolePolicyDocument=res.trust_policy(service), Description=description,
                    Tags=res.tag_list(self.names.name))["Role"]
        if policy_arn:
            call("iam:AttachRolePolicy", iam.attach_role_policy, RoleName=role_name,
                 PolicyArn=policy_arn)
        return str(role["Arn"])

    def role(self, kind: str, role_name: str, service: str, policy_arn: str,
             description: str) -> str:
        role = self.get_role(role_name)
        if role is not None:
            self.emit(kind, role_name, REUSED, role["Arn"], self.foreign(role.get("Tags")))
            return str(role["Arn"])
        arn = self.create_role(role_name, service, policy_arn, description)
        self.emit(kind, role_name, self.new(CREATED), arn)
        return arn

    def task_role(self, bucket: str, prefix: str) -> str:
        iam = self.clients.iam
        role_name = self.names.task_role
        wanted = res.task_policy(bucket, prefix)
        role = self.get_role(role_name)
        if role is None:
            arn = self.create_role(role_name, res.ECS_TASKS, None,
                                   "batchmagic: what job containers may do (S3 runs)")
            if not self.dry_run:
                self.put_task_policy(role_name, wanted)
            self.emit("task role", role_name, self.new(CREATED), arn,
                      f"S3 access to {bucket}/{prefix}/ only")
            return arn
        arn = str(role["Arn"])
        if not self.ours(role.get("Tags")):
            self.emit("task role", role_name, REUSED, arn, self.foreign(role.get("Tags")))
            return arn
        try:
            current = res.policy_document(call(
                "iam:GetRolePolicy", iam.get_role_policy, RoleName=role_name,
                PolicyName=res.TASK_POLICY_NAME)["PolicyDocument"])
        except AwsError as error:
            if error.code != "NoSuchEntity":
                raise
            current = {}
        if current == wanted:
            self.emit("task role", role_name, REUSED, arn)
            return arn
        if not self.dry_run:
            self.put_task_policy(role_name, wanted)
        self.emit("task role", role_name, self.new(UPDATED), arn,
                  f"S3 access now scoped to {bucket}/{prefix}/")
        return arn

    def put_task_policy(self, role_name: str, document: dict[str, Any]) -> None:
        call("iam:PutRolePolicy", self.clients.iam.put_role_policy, RoleName=role_name,
             PolicyName=res.TASK_POLICY_NAME, PolicyDocument=json.dumps(document))

    def instance_profile(self) -> str:
        """The EC2 instances' role and profile (ECS agent rights); returns the profile ARN."""
        iam = self.clients.iam
        role_name = self.names.instance_role
        self.role("instance role", role_name, res.EC2, res.INSTANCE_POLICY_ARN,
                  "batchmagic: lets the ECS agent on Batch's EC2 instances work")
        profile_name = self.names.instance_profile
        try:
            profile = call("iam:GetInstanceProfile", iam.get_instance_profile,
                           InstanceProfileName=profile_name)["InstanceProfile"]
        except AwsError as error:
            if error.code != "NoSuchEntity":
                raise
        else:
            self.emit("instance profile", profile_name, REUSED, profile["Arn"],
                      self.foreign(profile.get("Tags")))
            return str(profile["Arn"])
        arn = f"arn:aws:iam::{self.account}:instance-profile/{profile_name}"
        if not self.dry_run:
            arn = str(call("iam:CreateInstanceProfile", iam.create_instance_profile,
                           InstanceProfileName=profile_name,
                           Tags=res.tag_list(self.names.name))["InstanceProfile"]["Arn"])
            call("iam:AddRoleToInstanceProfile", iam.add_role_to_instance_profile,
                 InstanceProfileName=profile_name, RoleName=role_name)
        self.emit("instance profile", profile_name, self.new(CREATED), arn)
        return arn

    # -- network --------------------------------------------------------------------------------

    def default_network(self) -> tuple[str, list[str]]:
        ec2 = self.clients.ec2
        vpcs = call("ec2:DescribeVpcs", ec2.describe_vpcs,
                    Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
        if not vpcs:
            raise ConfigurationError(
                f"there is no default VPC in {self.region} - fix: create one with "
                "`aws ec2 create-default-vpc`, or use another --region")
        vpc = str(vpcs[0]["VpcId"])
        subnets = call("ec2:DescribeSubnets", ec2.describe_subnets,
                       Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                {"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
        if not subnets:
            raise ConfigurationError(
                f"the default VPC {vpc} has no default subnets - fix: create them with "
                "`aws ec2 create-default-subnet --availability-zone AZ`")
        return vpc, sorted(str(s["SubnetId"]) for s in subnets)

    def security_group(self, vpc: str) -> str:
        ec2 = self.clients.ec2
        group_name = self.names.security_group
        found = call("ec2:DescribeSecurityGroups", ec2.describe_security_groups,
                     Filters=[{"Name": "vpc-id", "Values": [vpc]},
                              {"Name": "group-name", "Values": [group_name]}])["SecurityGroups"]
        if found:
            group = found[0]
            self.emit("security group", group_name, REUSED, str(group["GroupId"]),
                      self.foreign(group.get("Tags")))
            return str(group["GroupId"])
        if self.dry_run:
            self.emit("security group", group_name, WOULD_CREATE, detail=f"egress only, {vpc}")
            return "sg-dryrun"
        # A new group has no ingress rule and one allow-all egress rule: jobs reach S3, ECR and
        # public registries, nothing reaches them.
        group_id = str(call(
            "ec2:CreateSecurityGroup", ec2.create_security_group, GroupName=group_name,
            Description="batchmagic jobs: egress only", VpcId=vpc,
            TagSpecifications=[{"ResourceType": "security-group",
                                "Tags": res.tag_list(self.names.name)}])["GroupId"])
        self.emit("security group", group_name, CREATED, group_id, f"egress only, {vpc}")
        return group_id

    # -- Batch ----------------------------------------------------------------------------------

    def describe_ce(self, ce_name: str) -> dict[str, Any] | None:
        found = call("batch:DescribeComputeEnvironments",
                     self.clients.batch.describe_compute_environments,
                     computeEnvironments=[ce_name])["computeEnvironments"]
        return dict(found[0]) if found else None

    def describe_queue(self) -> dict[str, Any] | None:
        found = call("batch:DescribeJobQueues", self.clients.batch.describe_job_queues,
                     jobQueues=[self.names.queue])["jobQueues"]
        return dict(found[0]) if found else None

    def compute_environment(self, ce_name: str, platform: str, subnets: list[str], group: str,
                            instance_profile: str | None) -> str:
        current = self.describe_ce(ce_name)
        if current is not None and current.get("status") != "DELETED":
            if not self.dry_run:
                self.wait_valid("compute environment", ce_name,
                                lambda: self.describe_ce(ce_name))
            self.emit("compute environment", ce_name, REUSED,
                      str(current["computeEnvironmentArn"]), self.foreign(current.get("tags")))
            return str(current["computeEnvironmentArn"])
        if self.dry_run:
            self.emit("compute environment", ce_name, WOULD_CREATE,
                      detail=f"{platform}, up to {res.MAX_VCPUS} vCPUs")
            return f"arn:aws:batch:{self.region}:{self.account}:compute-environment/{ce_name}"
        compute: dict[str, Any] = {
            "type": "FARGATE" if platform == "fargate" else "EC2",
            "maxvCpus": res.MAX_VCPUS,
            "subnets": subnets,
            "securityGroupIds": [group],
        }
        if platform == "ec2":
            compute.update(minvCpus=0, desiredvCpus=0, instanceTypes=["optimal"],
                           instanceRole=instance_profile,
                           allocationStrategy="BEST_FIT_PROGRESSIVE")
        # No serviceRole: Batch then uses its service-linked role, creating it if needed.
        # A freshly created instance profile can take a few seconds to be visible to Batch
        # (IAM is eventually consistent); the wait below reports an INVALID environment.
        arn = str(call("batch:CreateComputeEnvironment",
                       self.clients.batch.create_compute_environment,
                       computeEnvironmentName=ce_name, type="MANAGED", state="ENABLED",
                       computeResources=compute,
                       tags=res.tags(self.names.name))["computeEnvironmentArn"])
        self.wait_valid("compute environment", ce_name, lambda: self.describe_ce(ce_name))
        self.emit("compute environment", ce_name, CREATED, arn,
                  f"{platform}, up to {res.MAX_VCPUS} vCPUs")
        return arn

    def queue(self, ce_name: str, ce_arn: str) -> None:
        batch = self.clients.batch
        queue_name = self.names.queue
        order = [{"order": 1, "computeEnvironment": ce_arn}]
        current = self.describe_queue()
        if current is not None and current.get("status") != "DELETED":
            arn = str(current["jobQueueArn"])
            attached = [o["computeEnvironment"] for o in current.get("computeEnvironmentOrder", [])]
            if ce_arn in attached or ce_name in attached or not self.ours(current.get("tags")):
                if not self.dry_run:
                    self.wait_valid("job queue", queue_name, self.describe_queue)
                detail = self.foreign(current.get("tags"))
                if ce_arn not in attached and ce_name not in attached:
                    detail += f"; it does not use {ce_name}"
                self.emit("job queue", queue_name, REUSED, arn, detail.strip("; "))
                return
            # Our queue, pointed at another of our environments (setup re-run with --platform).
            if not self.dry_run:
                call("batch:UpdateJobQueue", batch.update_job_queue, jobQueue=queue_name,
                     computeEnvironmentOrder=order)
                self.wait_valid("job queue", queue_name, self.describe_queue)
            self.emit("job queue", queue_name, self.new(UPDATED), arn, f"now uses {ce_name}")
            return
        if self.dry_run:
            self.emit("job queue", queue_name, WOULD_CREATE, detail=f"uses {ce_name}")
            return
        # CreateJobQueue refuses a compute environment that is not VALID yet: it was waited for.
        arn = str(call("batch:CreateJobQueue", batch.create_job_queue, jobQueueName=queue_name,
                       state="ENABLED", priority=1, computeEnvironmentOrder=order,
                       tags=res.tags(self.names.name))["jobQueueArn"])
        self.wait_valid("job queue", queue_name, self.describe_queue)
        self.emit("job queue", queue_name, CREATED, arn, f"uses {ce_name}")

    def wait_valid(self, kind: str, name: str,
                   describe: Callable[[], dict[str, Any] | None]) -> None:
        operation = "batch:Describe" + ("ComputeEnvironments" if "compute" in kind
                                        else "JobQueues")

        def probe() -> tuple[bool, str]:
            found = describe()
            status = str((found or {}).get("status", "missing"))
            if status == "INVALID":
                reason = (found or {}).get("statusReason", "no reason given")
                raise AwsError(
                    f"{kind} {name} is INVALID: {reason} - fix: correct the cause, then run "
                    "`batchmagic teardown` and `batchmagic setup` again",
                    code="INVALID", operation=operation)
            return status == "VALID", status

        wait_until(f"{kind} {name}", probe, timeout=self.timeout, operation=operation,
                   hint="AWS is slow to settle it; run `batchmagic doctor` in a few minutes")


@dataclass(frozen=True)
class _BucketPart:
    """One bucket setting: how to tell it is there, how to put it."""

    label: str
    get: str
    put_call: str
    missing_code: str

    def present(self, s3: Any, bucket: str) -> bool:
        try:
            call(f"s3:{self.get}", getattr(s3, _snake(self.get)), Bucket=bucket)
        except AwsError as error:
            if error.code == self.missing_code:
                return False
            raise
        return True

    def put(self, s3: Any, bucket: str, prefix: str) -> None:
        choices: dict[str, dict[str, Any]] = {
            "PutPublicAccessBlock": {"PublicAccessBlockConfiguration": res.PUBLIC_ACCESS_BLOCK},
            "PutBucketEncryption": {"ServerSideEncryptionConfiguration": res.ENCRYPTION},
            "PutBucketLifecycleConfiguration": {"LifecycleConfiguration": res.lifecycle(prefix)},
        }
        call(f"s3:{self.put_call}", getattr(s3, _snake(self.put_call)), Bucket=bucket,
             **choices[self.put_call])


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


_BUCKET_PARTS = (
    _BucketPart("public access block", "GetPublicAccessBlock", "PutPublicAccessBlock",
                "NoSuchPublicAccessBlockConfiguration"),
    _BucketPart("default encryption", "GetBucketEncryption", "PutBucketEncryption",
                "ServerSideEncryptionConfigurationNotFoundError"),
    _BucketPart("lifecycle rule", "GetBucketLifecycleConfiguration",
                "PutBucketLifecycleConfiguration", "NoSuchLifecycleConfiguration"),
)

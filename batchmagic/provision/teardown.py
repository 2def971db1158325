"""`teardown`: remove what `batchmagic setup` created, found by its tags, and nothing else.

Order matters to AWS: a queue must be DISABLED before it is deleted, a compute environment
DISABLED and no longer used by any queue, a role free of policies and instance profiles. The log
group ``/aws/batch/job`` is AWS Batch's default for every job in the account, so it is kept; the
bucket is kept unless asked for (it may hold results).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.errors import aws_errors
from batchmagic.errors import AwsError
from batchmagic.provision import resources as res
from batchmagic.provision.calls import call, wait_until
from batchmagic.provision.report import DELETED, ResourceResult

Report = Callable[[ResourceResult], None]
DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class Found:
    """One resource teardown would delete."""

    kind: str
    name: str
    ident: str  # ARN, ID or name: what the delete call takes


def find(clients: AwsClients, *, name: str = res.DEFAULT_NAME,
         bucket: str | None = None) -> list[Found]:
    """Everything setup ``name`` created (tagged ``batchmagic:managed=true`` and
    ``batchmagic:name=<name>``), in deletion order. ``bucket`` is included only if given and ours.
    Makes read calls only."""
    names = res.Names(res.check_name(name))
    found: list[Found] = []
    found += [Found("job queue", q["jobQueueName"], q["jobQueueArn"])
              for q in _batch_all(clients, "describe_job_queues", "jobQueues")
              if q.get("status") != "DELETED" and _batch_ours(clients, q, "jobQueueArn", name)]
    found += [Found("compute environment", c["computeEnvironmentName"],
                    c["computeEnvironmentArn"])
              for c in _batch_all(clients, "describe_compute_environments",
                                  "computeEnvironments")
              if c.get("status") != "DELETED"
              and _batch_ours(clients, c, "computeEnvironmentArn", name)]
    found += [Found("job definition", f"{d['jobDefinitionName']}:{d['revision']}",
                    d["jobDefinitionArn"])
              for d in _batch_all(clients, "describe_job_definitions", "jobDefinitions",
                                  status="ACTIVE")
              if _job_definition_ours(d, name)]
    profile = _instance_profile(clients, names.instance_profile, name)
    if profile:
        found.append(profile)
    for role_name in (names.execution_role, names.task_role, names.instance_role):
        role = _role(clients, role_name, name)
        if role:
            found.append(role)
    groups = call("ec2:DescribeSecurityGroups", clients.ec2.describe_security_groups,
                  Filters=[{"Name": f"tag:{res.TAG_MANAGED}", "Values": [res.MANAGED_VALUE]},
                           {"Name": f"tag:{res.TAG_NAME}", "Values": [name]}])["SecurityGroups"]
    found += [Found("security group", g["GroupName"], g["GroupId"]) for g in groups]
    if bucket and _bucket_ours(clients, bucket, name):
        found.append(Found("bucket", bucket, bucket))
    return found


def teardown(clients: AwsClients, items: list[Found], *, report: Report | None = None,
             timeout: float = DEFAULT_TIMEOUT) -> list[ResourceResult]:
    """Delete ``items`` (from ``find``) in order; report each one as it goes."""
    results: list[ResourceResult] = []
    for item in items:
        _DELETERS[item.kind](clients, item, timeout)
        result = ResourceResult(item.kind, item.name, DELETED, item.ident)
        results.append(result)
        if report is not None:
            report(result)
    return results


# -- finding ------------------------------------------------------------------------------------

def _batch_all(clients: AwsClients, method: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    operation = "batch:" + "".join(p.title() for p in method.split("_"))
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = call(operation, getattr(clients.batch, method), **kwargs,
                    **({"nextToken": token} if token else {}))
        items += page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return items


def _batch_ours(clients: AwsClients, item: dict[str, Any], arn_key: str, name: str) -> bool:
    tags = item.get("tags")
    if tags is None:  # not every Describe* returns tags: ask for them
        tags = call("batch:ListTagsForResource", clients.batch.list_tags_for_resource,
                    resourceArn=item[arn_key]).get("tags", {})
    return res.is_ours(tags, name)


def _job_definition_ours(definition: dict[str, Any], name: str) -> bool:
    # Runs register job definitions tagged batchmagic:managed; a batchmagic:name, when there
    # is one, must match (another setup in the account keeps its own).
    tags = definition.get("tags") or {}
    return bool(tags.get(res.TAG_MANAGED) == res.MANAGED_VALUE
                and tags.get(res.TAG_NAME, name) == name)


def _role(clients: AwsClients, role_name: str, name: str) -> Found | None:
    try:
        role = call("iam:GetRole", clients.iam.get_role, RoleName=role_name)["Role"]
    except AwsError as error:
        if error.code == "NoSuchEntity":
            return None
        raise
    tags = role.get("Tags")
    if tags is None:
        tags = call("iam:ListRoleTags", clients.iam.list_role_tags, RoleName=role_name)["Tags"]
    return Found("role", role_name, role["Arn"]) if res.is_ours(tags, name) else None


def _instance_profile(clients: AwsClients, profile_name: str, name: str) -> Found | None:
    try:
        profile = call("iam:GetInstanceProfile", clients.iam.get_instance_profile,
                       InstanceProfileName=profile_name)["InstanceProfile"]
    except AwsError as error:
        if error.code == "NoSuchEntity":
            return None
        raise
    tags = profile.get("Tags")
    if tags is None:
        tags = call("iam:ListInstanceProfileTags", clients.iam.list_instance_profile_tags,
                    InstanceProfileName=profile_name)["Tags"]
    if not res.is_ours(tags, name):
        return None
    return Found("instance profile", profile_name, profile["Arn"])


def _bucket_ours(clients: AwsClients, bucket: str, name: str) -> bool:
    try:
        tag_set = call("s3:GetBucketTagging", clients.s3.get_bucket_tagging,
                       Bucket=bucket)["TagSet"]
    except AwsError as error:
        if error.code in ("NoSuchTagSet", "NoSuchBucket", "404"):
            return False
        raise
    return res.is_ours(tag_set, name)


# -- deleting -----------------------------------------------------------------------------------

def _queue_state(clients: AwsClients, arn: str) -> dict[str, Any]:
    found = call("batch:DescribeJobQueues", clients.batch.describe_job_queues,
                 jobQueues=[arn])["jobQueues"]
    return dict(found[0]) if found else {"status": "DELETED"}


def _ce_state(clients: AwsClients, arn: str) -> dict[str, Any]:
    found = call("batch:DescribeComputeEnvironments",
                 clients.batch.describe_compute_environments,
                 computeEnvironments=[arn])["computeEnvironments"]
    return dict(found[0]) if found else {"status": "DELETED"}


def _settle(what: str, state: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool],
            operation: str, timeout: float) -> None:
    def probe() -> tuple[bool, str]:
        current = state()
        return done(current), f"{current.get('state', '')} {current.get('status', '')}".strip()

    wait_until(what, probe, timeout=timeout, operation=operation,
               hint="run `batchmagic teardown` again later")


def _disabled(current: dict[str, Any]) -> bool:
    # Batch accepts a delete only once the DISABLED state has settled (status VALID again).
    return current.get("status") == "DELETED" or (
        current.get("state") == "DISABLED" and current.get("status") in ("VALID", "INVALID"))


def _delete_queue(clients: AwsClients, item: Found, timeout: float) -> None:
    batch = clients.batch
    if _queue_state(clients, item.ident).get("state") != "DISABLED":
        call("batch:UpdateJobQueue", batch.update_job_queue, jobQueue=item.ident,
             state="DISABLED")
    _settle(f"job queue {item.name}", lambda: _queue_state(clients, item.ident), _disabled,
            "batch:UpdateJobQueue", timeout)
    call("batch:DeleteJobQueue", batch.delete_job_queue, jobQueue=item.ident)
    # The compute environment can be deleted only once no queue refers to it any more.
    _settle(f"job queue {item.name}", lambda: _queue_state(clients, item.ident),
            lambda q: q.get("status") == "DELETED", "batch:DeleteJobQueue", timeout)


def _delete_ce(clients: AwsClients, item: Found, timeout: float) -> None:
    batch = clients.batch
    if _ce_state(clients, item.ident).get("state") != "DISABLED":
        call("batch:UpdateComputeEnvironment", batch.update_compute_environment,
             computeEnvironment=item.ident, state="DISABLED")
    _settle(f"compute environment {item.name}", lambda: _ce_state(clients, item.ident),
            _disabled, "batch:UpdateComputeEnvironment", timeout)
    call("batch:DeleteComputeEnvironment", batch.delete_compute_environment,
         computeEnvironment=item.ident)
    _settle(f"compute environment {item.name}", lambda: _ce_state(clients, item.ident),
            lambda c: c.get("status") == "DELETED", "batch:DeleteComputeEnvironment", timeout)


def _delete_job_definition(clients: AwsClients, item: Found, timeout: float) -> None:
    call("batch:DeregisterJobDefinition", clients.batch.deregister_job_definition,
         jobDefinition=item.ident)


def _delete_instance_profile(clients: AwsClients, item: Found, timeout: float) -> None:
    iam = clients.iam
    profile = call("iam:GetInstanceProfile", iam.get_instance_profile,
                   InstanceProfileName=item.name)["InstanceProfile"]
    for role in profile.get("Roles", []):
        call("iam:RemoveRoleFromInstanceProfile", iam.remove_role_from_instance_profile,
             InstanceProfileName=item.name, RoleName=role["RoleName"])
    call("iam:DeleteInstanceProfile", iam.delete_instance_profile,
         InstanceProfileName=item.name)


def _delete_role(clients: AwsClients, item: Found, timeout: float) -> None:
    iam = clients.iam
    role = item.name
    attached = call("iam:ListAttachedRolePolicies", iam.list_attached_role_policies,
                    RoleName=role)["AttachedPolicies"]
    for policy in attached:
        call("iam:DetachRolePolicy", iam.detach_role_policy, RoleName=role,
             PolicyArn=policy["PolicyArn"])
    for policy_name in call("iam:ListRolePolicies", iam.list_role_policies,
                            RoleName=role)["PolicyNames"]:
        call("iam:DeleteRolePolicy", iam.delete_role_policy, RoleName=role,
             PolicyName=policy_name)
    # A role still in an instance profile (even one teardown does not own) cannot be deleted.
    for profile in call("iam:ListInstanceProfilesForRole", iam.list_instance_profiles_for_role,
                        RoleName=role)["InstanceProfiles"]:
        call("iam:RemoveRoleFromInstanceProfile", iam.remove_role_from_instance_profile,
             InstanceProfileName=profile["InstanceProfileName"], RoleName=role)
    call("iam:DeleteRole", iam.delete_role, RoleName=role)


def _delete_security_group(clients: AwsClients, item: Found, timeout: float) -> None:
    # Fargate tasks' network interfaces outlive the compute environment by a few minutes, and
    # the group cannot go while they exist (DependencyViolation): retry until the timeout.
    def probe() -> tuple[bool, str]:
        try:
            call("ec2:DeleteSecurityGroup", clients.ec2.delete_security_group,
                 GroupId=item.ident)
        except AwsError as error:
            if error.code == "DependencyViolation":
                return False, "in use by network interfaces"
            if error.code == "InvalidGroup.NotFound":
                return True, "deleted"
            raise
        return True, "deleted"

    wait_until(f"security group {item.name}", probe, timeout=timeout,
               operation="ec2:DeleteSecurityGroup", hint="run `batchmagic teardown` again later")


def _delete_bucket(clients: AwsClients, item: Found, timeout: float) -> None:
    with aws_errors("s3:ListObjectVersions"):  # from the paginators
        _empty_and_delete_bucket(clients.s3, item.ident)


def _empty_and_delete_bucket(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for upload in page.get("Uploads", []):
            call("s3:AbortMultipartUpload", s3.abort_multipart_upload, Bucket=bucket,
                 Key=upload["Key"], UploadId=upload["UploadId"])
    # Versions and delete markers too: a bucket with versioning on is not empty without them.
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                   for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if objects:
            call("s3:DeleteObjects", s3.delete_objects, Bucket=bucket,
                 Delete={"Objects": objects, "Quiet": True})
    call("s3:DeleteBucket", s3.delete_bucket, Bucket=bucket)


_DELETERS: dict[str, Callable[[AwsClients, Found, float], None]] = {
    "job queue": _delete_queue,
    "compute environment": _delete_ce,
    "job definition": _delete_job_definition,
    "instance profile": _delete_instance_profile,
    "role": _delete_role,
    "security group": _delete_security_group,
    "bucket": _delete_bucket,
}

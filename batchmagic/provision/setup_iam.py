"""Setup steps for IAM: the execution and task roles, and on EC2 the instance profile."""

from __future__ import annotations

import json
from typing import Any

from batchmagic.errors import AwsError
from batchmagic.provision import resources as res
from batchmagic.provision.calls import call
from batchmagic.provision.report import CREATED, REUSED, UPDATED
from batchmagic.provision.setup_base import SetupContext


class IamSteps:
    """The execution and task roles, and on EC2 the instance role and profile."""

    def __init__(self, setup: SetupContext) -> None:
        self.setup = setup

    def get_role(self, role_name: str) -> dict[str, Any] | None:
        try:
            role: dict[str, Any] = call("iam:GetRole", self.setup.clients.iam.get_role,
                                        RoleName=role_name)["Role"]
            return role
        except AwsError as error:
            if error.code == "NoSuchEntity":
                return None
            raise

    def create_role(self, role_name: str, service: str, policy_arn: str | None,
                    description: str) -> str:
        iam = self.setup.clients.iam
        if self.setup.dry_run:
            return f"arn:aws:iam::{self.setup.account}:role/{role_name}"
        role = call("iam:CreateRole", iam.create_role, RoleName=role_name,
                    AssumeRolePolicyDocument=res.trust_policy(service), Description=description,
                    Tags=res.tag_list(self.setup.names.name))["Role"]
        if policy_arn:
            call("iam:AttachRolePolicy", iam.attach_role_policy, RoleName=role_name,
                 PolicyArn=policy_arn)
        return str(role["Arn"])

    def role(self, kind: str, role_name: str, service: str, policy_arn: str,
             description: str) -> str:
        role = self.get_role(role_name)
        if role is not None:
            self.setup.emit(kind, role_name, REUSED, role["Arn"],
                            self.setup.foreign(role.get("Tags")))
            return str(role["Arn"])
        arn = self.create_role(role_name, service, policy_arn, description)
        self.setup.emit(kind, role_name, self.setup.new(CREATED), arn)
        return arn

    def task_role(self, bucket: str, prefix: str) -> str:
        iam = self.setup.clients.iam
        role_name = self.setup.names.task_role
        wanted = res.task_policy(bucket, prefix)
        role = self.get_role(role_name)
        if role is None:
            arn = self.create_role(role_name, res.ECS_TASKS, None,
                                   "batchmagic: what job containers may do (S3 runs)")
            if not self.setup.dry_run:
                self.put_task_policy(role_name, wanted)
            self.setup.emit("task role", role_name, self.setup.new(CREATED), arn,
                            f"S3 access to {bucket}/{prefix}/ only")
            return arn
        arn = str(role["Arn"])
        if not self.setup.ours(role.get("Tags")):
            self.setup.emit("task role", role_name, REUSED, arn,
                            self.setup.foreign(role.get("Tags")))
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
            self.setup.emit("task role", role_name, REUSED, arn)
            return arn
        if not self.setup.dry_run:
            self.put_task_policy(role_name, wanted)
        self.setup.emit("task role", role_name, self.setup.new(UPDATED), arn,
                        f"S3 access now scoped to {bucket}/{prefix}/")
        return arn

    def put_task_policy(self, role_name: str, document: dict[str, Any]) -> None:
        call("iam:PutRolePolicy", self.setup.clients.iam.put_role_policy, RoleName=role_name,
             PolicyName=res.TASK_POLICY_NAME, PolicyDocument=json.dumps(document))

    def instance_profile(self) -> str:
        """The EC2 instances' role and profile (ECS agent rights); returns the profile ARN."""
        iam = self.setup.clients.iam
        role_name = self.setup.names.instance_role
        self.role("instance role", role_name, res.EC2, res.INSTANCE_POLICY_ARN,
                  "batchmagic: lets the ECS agent on Batch's EC2 instances work")
        profile_name = self.setup.names.instance_profile
        try:
            profile = call("iam:GetInstanceProfile", iam.get_instance_profile,
                           InstanceProfileName=profile_name)["InstanceProfile"]
        except AwsError as error:
            if error.code != "NoSuchEntity":
                raise
        else:
            self.setup.emit("instance profile", profile_name, REUSED, profile["Arn"],
                            self.setup.foreign(profile.get("Tags")))
            return str(profile["Arn"])
        arn = f"arn:aws:iam::{self.setup.account}:instance-profile/{profile_name}"
        if not self.setup.dry_run:
            arn = str(call("iam:CreateInstanceProfile", iam.create_instance_profile,
                           InstanceProfileName=profile_name,
                           Tags=res.tag_list(self.setup.names.name))["InstanceProfile"]["Arn"])
            call("iam:AddRoleToInstanceProfile", iam.add_role_to_instance_profile,
                 InstanceProfileName=profile_name, RoleName=role_name)
        self.setup.emit("instance profile", profile_name, self.setup.new(CREATED), arn)
        return arn

    def secrets_access(self, role_name: str, prefix: str) -> None:
        """Let the execution role read the secrets and parameters under ``prefix``."""
        setup = self.setup
        document = res.secrets_policy(setup.region, setup.account, prefix)
        if not setup.dry_run:
            call("iam:PutRolePolicy", setup.clients.iam.put_role_policy, RoleName=role_name,
                 PolicyName=res.SECRETS_POLICY_NAME, PolicyDocument=json.dumps(document))
        setup.emit("secrets access", role_name, setup.new(UPDATED), "",
                   f"GetSecretValue/GetParameters on {prefix}* only")

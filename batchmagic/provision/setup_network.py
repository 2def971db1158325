"""Setup steps for the network: the default VPC and subnets, and the jobs' security group."""

from __future__ import annotations

from batchmagic.errors import ConfigurationError
from batchmagic.provision import resources as res
from batchmagic.provision.calls import call
from batchmagic.provision.report import CREATED, REUSED, WOULD_CREATE
from batchmagic.provision.setup_base import SetupContext


class NetworkSteps:
    """The default VPC's subnets and the jobs' egress-only security group."""

    def __init__(self, setup: SetupContext) -> None:
        self.setup = setup

    def default_network(self) -> tuple[str, list[str]]:
        ec2 = self.setup.clients.ec2
        vpcs = call("ec2:DescribeVpcs", ec2.describe_vpcs,
                    Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
        if not vpcs:
            raise ConfigurationError(
                f"there is no default VPC in {self.setup.region} - fix: create one with "
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
        ec2 = self.setup.clients.ec2
        group_name = self.setup.names.security_group
        found = call("ec2:DescribeSecurityGroups", ec2.describe_security_groups,
                     Filters=[{"Name": "vpc-id", "Values": [vpc]},
                              {"Name": "group-name", "Values": [group_name]}])["SecurityGroups"]
        if found:
            group = found[0]
            self.setup.emit("security group", group_name, REUSED, str(group["GroupId"]),
                            self.setup.foreign(group.get("Tags")))
            return str(group["GroupId"])
        if self.setup.dry_run:
            self.setup.emit("security group", group_name, WOULD_CREATE,
                            detail=f"egress only, {vpc}")
            return "sg-dryrun"
        # A new group has no ingress rule and one allow-all egress rule: jobs reach S3, ECR and
        # public registries, nothing reaches them.
        group_id = str(call(
            "ec2:CreateSecurityGroup", ec2.create_security_group, GroupName=group_name,
            Description="batchmagic jobs: egress only", VpcId=vpc,
            TagSpecifications=[{"ResourceType": "security-group",
                                "Tags": res.tag_list(self.setup.names.name)}])["GroupId"])
        self.setup.emit("security group", group_name, CREATED, group_id, f"egress only, {vpc}")
        return group_id

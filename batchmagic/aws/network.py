"""Can a subnet reach the image registries? (read-only EC2 calls)

A task pulls its images from ECR Public / Docker Hub and reads S3: its subnet needs a route to
the internet (0.0.0.0/0 to an internet gateway - with a public IP on Fargate - or to a NAT
gateway), or VPC endpoints for ECR and S3 (Amazon ECS developer guide, "Fargate task
networking"; AWS Batch user guide, "Jobs stuck in RUNNABLE": "CannotPullContainerError").
A subnet without an explicit route table association uses its VPC's main route table.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

REGISTRY_ENDPOINTS = (".s3", ".ecr.dkr", ".ecr.api")


def _read(call: Any, **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except (ClientError, BotoCoreError):
        return None


def _routes(ec2: Any, subnet: str) -> tuple[list[dict[str, Any]], str | None] | None:
    """The routes that apply to ``subnet`` and its VPC id (None when they cannot be read)."""
    described = _read(ec2.describe_subnets, SubnetIds=[subnet])
    if described is None:
        return None
    vpc = ((described.get("Subnets") or [{}])[0]).get("VpcId")
    tables = _read(ec2.describe_route_tables,
                   Filters=[{"Name": "association.subnet-id", "Values": [subnet]}]) or {}
    found = tables.get("RouteTables") or []
    if not found and vpc:
        main = _read(ec2.describe_route_tables,
                     Filters=[{"Name": "vpc-id", "Values": [vpc]},
                              {"Name": "association.main", "Values": ["true"]}]) or {}
        found = main.get("RouteTables") or []
    return [r for t in found for r in t.get("Routes", [])], vpc


def subnet_route(ec2: Any, subnet: str) -> str | None:
    """How ``subnet`` reaches the registries ("internet gateway", "NAT gateway", "VPC
    endpoints"), or None when it cannot; "unknown" when the calls are not allowed."""
    found = _routes(ec2, subnet)
    if found is None:
        return "unknown"
    routes, vpc = found
    for route in routes:
        if route.get("DestinationCidrBlock") != "0.0.0.0/0":
            continue
        if str(route.get("GatewayId", "")).startswith("igw-"):
            return "internet gateway"
        if route.get("NatGatewayId"):
            return "NAT gateway"
    filters = [{"Name": "vpc-id", "Values": [vpc]}] if vpc else []
    endpoints = (_read(ec2.describe_vpc_endpoints, Filters=filters) or {}).get(
        "VpcEndpoints") or []
    if any(str(e.get("ServiceName", "")).endswith(REGISTRY_ENDPOINTS) for e in endpoints):
        return "VPC endpoints"
    return None

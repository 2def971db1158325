"""Doctor checks of what decides whether jobs can start at all: the compute environment's
``maxvCpus`` against the configured size, the account's Fargate vCPU quota, and whether every
subnet of the compute environment can reach the image registries (see aws/network.py)."""

from __future__ import annotations

from typing import Any

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.network import subnet_route
from batchmagic.aws.quotas import fargate_vcpu_quota
from batchmagic.provision.calls import call
from batchmagic.provision.report import FAIL, PASS, SKIP
from batchmagic.settings import Settings


def compute_environment(clients: AwsClients, settings: Settings,
                        queue: dict[str, Any]) -> dict[str, Any] | None:
    name = settings.compute_environment or next(
        (o["computeEnvironment"] for o in queue.get("computeEnvironmentOrder") or []), None)
    if not name:
        return None
    found = call("batch:DescribeComputeEnvironments",
                 clients.batch.describe_compute_environments,
                 computeEnvironments=[name])["computeEnvironments"]
    return dict(found[0]) if found else None


def max_vcpus(ce: dict[str, Any] | None, settings: Settings) -> tuple[str, str, str]:
    if ce is None:
        return SKIP, "no compute environment to check", ""
    limit = float((ce.get("computeResources") or {}).get("maxvCpus") or 0)
    name = ce["computeEnvironmentName"]
    if settings.cpu > limit:
        return (FAIL, f"jobs of {settings.cpu:g} vCPUs cannot start: {name} allows at most "
                f"{limit:g} (maxvCpus); they would wait RUNNABLE",
                f"aws batch update-compute-environment --compute-environment {name} "
                f"--compute-resources maxvCpus={int(settings.cpu) + 1}, or lower --cpu")
    return PASS, f"{name}: maxvCpus {limit:g} >= {settings.cpu:g} vCPUs a job", ""


def network(clients: AwsClients, ce: dict[str, Any] | None) -> tuple[str, str, str]:
    subnets = sorted((ce or {}).get("computeResources", {}).get("subnets") or [])
    if not subnets:
        return SKIP, "no subnets to check", ""
    routes = {subnet: subnet_route(clients.ec2, subnet) for subnet in subnets}
    isolated = [s for s, how in routes.items() if how is None]
    if isolated:
        return (FAIL, f"subnets {', '.join(isolated)} have no route to the internet and the "
                "VPC has no ECR/S3 endpoints: image pulls will fail (CannotPullContainerError)",
                "use subnets with an internet or NAT gateway route, or add VPC endpoints for "
                "ecr.api, ecr.dkr, s3 and logs")
    return PASS, "; ".join(f"{s}: {how}" for s, how in routes.items()), ""


def fargate_quota(clients: AwsClients, settings: Settings,
                  ce: dict[str, Any] | None) -> tuple[str, str, str]:
    kind = str(((ce or {}).get("computeResources") or {}).get("type", ""))
    if not kind.startswith("FARGATE"):
        return SKIP, "not a Fargate compute environment", ""
    value = fargate_vcpu_quota(clients)
    if value is None:
        return SKIP, "the Fargate vCPU quota is not readable (servicequotas:GetServiceQuota)", ""
    if settings.cpu > value:
        return (FAIL, f"the account's Fargate vCPU quota is {value:g}, below {settings.cpu:g}",
                "request an increase of quota L-3032A538 in Service Quotas")
    return PASS, f"Fargate vCPU quota {value:g}", ""

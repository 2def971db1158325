"""Setup steps for Batch: the compute environment and job queue, and waiting for them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from batchmagic.errors import AwsError
from batchmagic.provision import resources as res
from batchmagic.provision.calls import call, wait_until
from batchmagic.provision.report import CREATED, REUSED, UPDATED, WOULD_CREATE
from batchmagic.provision.setup_base import SetupContext


def _create(operation: str, method: Callable[..., Any],
            describe: Callable[[], dict[str, Any] | None], **kwargs: Any) -> dict[str, Any]:
    """A Batch Create call. When its answer was lost after Batch carried it out (a reset, a 5xx)
    botocore sends it again, and Batch refuses the second with ClientException "Object already
    exists": the resource found under that name is the one just created."""
    try:
        return dict(call(operation, method, **kwargs))
    except AwsError as error:
        found = describe() if "already exists" in str(error) else None
        if found is None or found.get("status") == "DELETED":
            raise
        return found


class BatchSteps:
    """The compute environment and job queue, each waited for until VALID."""

    def __init__(self, setup: SetupContext) -> None:
        self.setup = setup

    def describe_ce(self, ce_name: str) -> dict[str, Any] | None:
        found = call("batch:DescribeComputeEnvironments",
                     self.setup.clients.batch.describe_compute_environments,
                     computeEnvironments=[ce_name])["computeEnvironments"]
        return dict(found[0]) if found else None

    def describe_queue(self, name: str | None = None) -> dict[str, Any] | None:
        found = call("batch:DescribeJobQueues", self.setup.clients.batch.describe_job_queues,
                     jobQueues=[name or self.setup.names.queue])["jobQueues"]
        return dict(found[0]) if found else None

    def compute_environment(self, ce_name: str, platform: str, subnets: list[str], group: str,
                            instance_profile: str | None, spot: bool = False,
                            instance_types: tuple[str, ...] = ("optimal",)) -> str:
        current = self.describe_ce(ce_name)
        if current is not None and current.get("status") != "DELETED":
            if not self.setup.dry_run:
                self.wait_valid("compute environment", ce_name,
                                lambda: self.describe_ce(ce_name))
            self.setup.emit("compute environment", ce_name, REUSED,
                            str(current["computeEnvironmentArn"]),
                            self.setup.foreign(current.get("tags")))
            return str(current["computeEnvironmentArn"])
        if self.setup.dry_run:
            self.setup.emit("compute environment", ce_name, WOULD_CREATE,
                            detail=f"{platform}, up to {res.MAX_VCPUS} vCPUs")
            region, account = self.setup.region, self.setup.account
            return f"arn:aws:batch:{region}:{account}:compute-environment/{ce_name}"
        # Spot: FARGATE_SPOT, or EC2 Spot instances (AWS Batch user guide, "Compute
        # environments": computeResources.type FARGATE | FARGATE_SPOT | EC2 | SPOT).
        kinds = {("fargate", False): "FARGATE", ("fargate", True): "FARGATE_SPOT",
                 ("ec2", False): "EC2", ("ec2", True): "SPOT"}
        compute: dict[str, Any] = {
            "type": kinds[platform, spot],
            "maxvCpus": res.MAX_VCPUS,
            "subnets": subnets,
            "securityGroupIds": [group],
        }
        if platform == "ec2":
            compute.update(minvCpus=0, desiredvCpus=0, instanceTypes=list(instance_types),
                           instanceRole=instance_profile,
                           allocationStrategy=("SPOT_PRICE_CAPACITY_OPTIMIZED" if spot
                                               else "BEST_FIT_PROGRESSIVE"))
        # No serviceRole: Batch then uses its service-linked role, creating it if needed.
        # A freshly created instance profile can take a few seconds to be visible to Batch
        # (IAM is eventually consistent); the wait below reports an INVALID environment.
        arn = str(_create("batch:CreateComputeEnvironment",
                          self.setup.clients.batch.create_compute_environment,
                          lambda: self.describe_ce(ce_name),
                          computeEnvironmentName=ce_name, type="MANAGED", state="ENABLED",
                          computeResources=compute,
                          tags=res.tags(self.setup.names.name))["computeEnvironmentArn"])
        self.wait_valid("compute environment", ce_name, lambda: self.describe_ce(ce_name))
        self.setup.emit("compute environment", ce_name, CREATED, arn,
                        f"{platform}, up to {res.MAX_VCPUS} vCPUs")
        return arn

    def queue(self, ce_name: str, ce_arn: str, queue_name: str | None = None) -> None:
        batch = self.setup.clients.batch
        queue_name = queue_name or self.setup.names.queue

        def describe() -> dict[str, Any] | None:
            return self.describe_queue(queue_name)

        order = [{"order": 1, "computeEnvironment": ce_arn}]
        current = describe()
        if current is not None and current.get("status") != "DELETED":
            arn = str(current["jobQueueArn"])
            attached = [o["computeEnvironment"] for o in current.get("computeEnvironmentOrder", [])]
            ours = self.setup.ours(current.get("tags"))
            if ce_arn in attached or ce_name in attached or not ours:
                if not self.setup.dry_run:
                    self.wait_valid("job queue", queue_name, describe)
                detail = self.setup.foreign(current.get("tags"))
                if ce_arn not in attached and ce_name not in attached:
                    detail += f"; it does not use {ce_name}"
                self.setup.emit("job queue", queue_name, REUSED, arn, detail.strip("; "))
                return
            # Our queue, pointed at another of our environments (setup re-run with --platform).
            if not self.setup.dry_run:
                call("batch:UpdateJobQueue", batch.update_job_queue, jobQueue=queue_name,
                     computeEnvironmentOrder=order)
                self.wait_valid("job queue", queue_name, describe)
            self.setup.emit("job queue", queue_name, self.setup.new(UPDATED), arn,
                            f"now uses {ce_name}")
            return
        if self.setup.dry_run:
            self.setup.emit("job queue", queue_name, WOULD_CREATE, detail=f"uses {ce_name}")
            return
        # CreateJobQueue refuses a compute environment that is not VALID yet: it was waited for.
        arn = str(_create("batch:CreateJobQueue", batch.create_job_queue, describe,
                          jobQueueName=queue_name, state="ENABLED", priority=1,
                          computeEnvironmentOrder=order,
                          jobStateTimeLimitActions=res.TIME_LIMIT_ACTIONS,
                          tags=res.tags(self.setup.names.name))["jobQueueArn"])
        self.wait_valid("job queue", queue_name, describe)
        self.setup.emit("job queue", queue_name, CREATED, arn, f"uses {ce_name}")

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

        wait_until(f"{kind} {name}", probe, timeout=self.setup.timeout, operation=operation,
                   hint="AWS is slow to settle it; run `batchmagic doctor` in a few minutes")

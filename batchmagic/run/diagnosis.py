"""Why a job has not started: Batch's own reason when it gives one, else one round of checks.

"Why is my job stuck in RUNNABLE?" is the most asked AWS Batch question. The order follows the
AWS Batch user guide ("Jobs stuck in a RUNNABLE status", "Troubleshooting"): a ``statusReason``
(``MISCONFIGURATION:*``, ``CAPACITY:*``), the queue and its compute environments (state and
status), the job against ``maxvCpus``, what else runs there, the account's Fargate vCPU quota
(Service Quotas ``L-3032A538``), and whether the subnets can reach the image registry at all.
Every check is a read call; one that is not allowed is skipped, never fatal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.network import subnet_route
from batchmagic.aws.quotas import fargate_vcpu_quota
from batchmagic.run.cost import JobSize

# statusReason prefixes (AWS Batch user guide, "Job state reasons"/RUNNABLE troubleshooting).
STATUS_REASONS = {
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT": (
        "the job is bigger than any compute environment of its queue can run "
        "(maxvCpus, or the instance types' memory)",
        "ask for less (--cpu/--memory) or raise the compute environment's maxvCpus"),
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE": (
        "the compute environment reached its maxvCpus",
        "raise maxvCpus, or wait for running jobs to end"),
    "MISCONFIGURATION:SERVICE_ROLE_PERMISSIONS": (
        "Batch's service role lacks permissions", "fix the compute environment's service role"),
    "MISCONFIGURATION:EC2_INSTANCE_PROFILE": (
        "the EC2 instance profile is missing or wrong", "fix the compute environment's "
        "instanceRole (batchmagic setup --platform ec2 creates one)"),
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY": (
        "AWS has no spare capacity of the requested instance types in these zones now",
        "wait, allow more instance types or subnets in other zones, or use Fargate"),
}
CONTAINER_REASONS = {
    "CannotPullContainerError": (
        "the image could not be pulled",
        "check the image name and tag, and that the subnets reach the registry (a public IP "
        "or a NAT gateway, or VPC endpoints for ECR and S3)"),
    "ResourceInitializationError": (
        "the task could not be initialised (secrets, registry auth or logs)",
        "let the execution role read the secrets and images, and the subnets reach Secrets "
        "Manager/SSM, ECR and CloudWatch Logs"),
    "CannotStartContainerError": (
        "a container could not start", "check the image's entrypoint and the command"),
}
NOT_STARTED = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING")


@dataclass(frozen=True)
class Diagnosis:
    """One cause and its fix. ``source``: ``statusReason``, ``container`` or ``checks``."""

    cause: str
    fix: str
    source: str

    def __str__(self) -> str:
        return f"{self.cause} - {self.fix}"


def _read(call: Any, **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except (ClientError, BotoCoreError):
        return None  # a check we may not make is skipped


def explain_reason(reason: str | None) -> Diagnosis | None:
    """Batch's statusReason, or a container's reason, with what it means and the fix."""
    if not reason:
        return None
    for prefix, (cause, fix) in STATUS_REASONS.items():
        if reason.startswith(prefix):
            return Diagnosis(f"{cause} ({prefix})", fix, "statusReason")
    for prefix, (cause, fix) in CONTAINER_REASONS.items():
        if prefix in reason:
            return Diagnosis(f"{cause}: {reason}", fix, "container")
    return None


def diagnose(clients: AwsClients, job: dict[str, Any]) -> Diagnosis:
    """Why ``job`` (a DescribeJobs element) has not started."""
    found = explain_reason(job.get("statusReason"))
    containers = ((job.get("ecsProperties") or {}).get("taskProperties") or [{}])[0].get(
        "containers") or []
    for container in containers:
        found = found or explain_reason(container.get("reason"))
    if found is None and job.get("statusReason") and job["status"] in NOT_STARTED:
        found = Diagnosis(f"Batch says: {job['statusReason']}", "see the AWS Batch console",
                          "statusReason")
    return found or _check_queue(clients, job) or _nothing_found(job)


def _check_queue(clients: AwsClients, job: dict[str, Any]) -> Diagnosis | None:
    batch = clients.batch
    queues = _read(batch.describe_job_queues, jobQueues=[job["jobQueue"]])
    queue = (queues or {}).get("jobQueues", [None])[0] if queues else None
    if queue is None:
        return None
    name = queue["jobQueueName"]
    if queue.get("state") != "ENABLED":
        return Diagnosis(f"the job queue {name} is DISABLED",
                         f"aws batch update-job-queue --job-queue {name} --state ENABLED",
                         "checks")
    if queue.get("status") == "INVALID":
        return Diagnosis(f"the job queue {name} is INVALID: {queue.get('statusReason')}",
                         "fix its compute environments (batchmagic doctor)", "checks")
    order = [o["computeEnvironment"] for o in sorted(queue["computeEnvironmentOrder"],
                                                      key=lambda o: o["order"])]
    described = _read(batch.describe_compute_environments, computeEnvironments=order)
    environments = (described or {}).get("computeEnvironments") or []
    usable = []
    for environment in environments:
        ce = environment["computeEnvironmentName"]
        if environment.get("state") != "ENABLED":
            return Diagnosis(f"the compute environment {ce} is DISABLED",
                             f"aws batch update-compute-environment --compute-environment {ce} "
                             "--state ENABLED", "checks")
        if environment.get("status") == "INVALID":
            return Diagnosis(
                f"the compute environment {ce} is INVALID: {environment.get('statusReason')}",
                "fix the cause, then batchmagic teardown and setup", "checks")
        usable.append(environment)
    return (_check_size(job, usable) or _check_busy(clients, job, name, usable)
            or _check_quota(clients, job, usable) or _check_network(clients, usable))


def _max_vcpus(environment: dict[str, Any]) -> float:
    return float((environment.get("computeResources") or {}).get("maxvCpus") or 0)


def _check_size(job: dict[str, Any], environments: list[dict[str, Any]]) -> Diagnosis | None:
    size = JobSize.from_description(job)
    if size is None or not environments:
        return None
    largest = max(_max_vcpus(e) for e in environments)
    if size.cpu > largest:
        return Diagnosis(f"the job needs {size.cpu:g} vCPUs but its compute environments allow "
                         f"at most {largest:g} (maxvCpus)",
                         "ask for less (--cpu) or raise maxvCpus", "checks")
    return None


def _check_busy(clients: AwsClients, job: dict[str, Any], queue: str,
                environments: list[dict[str, Any]]) -> Diagnosis | None:
    running: list[str] = []
    for state in ("STARTING", "RUNNING"):
        listed = _read(clients.batch.list_jobs, jobQueue=queue, jobStatus=state)
        running += [j["jobId"] for j in (listed or {}).get("jobSummaryList", [])]
    waiting = _read(clients.batch.list_jobs, jobQueue=queue, jobStatus="RUNNABLE") or {}
    ahead = [j for j in waiting.get("jobSummaryList", [])
             if j.get("createdAt", 0) < job.get("createdAt", 0)]
    if not running and not ahead:
        return None
    described = _read(clients.batch.describe_jobs, jobs=running[:100]) if running else None
    in_use = sum(size.cpu for size in (JobSize.from_description(j) for j in
                                       (described or {}).get("jobs", [])) if size)
    capacity = sum(_max_vcpus(e) for e in environments)
    need = (JobSize.from_description(job) or JobSize("fargate", 0, 0, 0, None, "x86_64", 0)).cpu
    if in_use + need <= capacity and not ahead:
        return None
    return Diagnosis(f"the compute environment is busy: {len(ahead)} jobs ahead, "
                     f"{in_use:g}/{capacity:g} vCPUs in use by {len(running)} running jobs",
                     "wait, or raise maxvCpus", "checks")


def _check_quota(clients: AwsClients, job: dict[str, Any],
                 environments: list[dict[str, Any]]) -> Diagnosis | None:
    fargate = any((e.get("computeResources") or {}).get("type", "").startswith("FARGATE")
                  for e in environments)
    if not fargate:
        return None
    value = fargate_vcpu_quota(clients)
    if value is None:
        return None
    size = JobSize.from_description(job)
    if size is not None and size.cpu > value:
        return Diagnosis(f"the account's Fargate vCPU quota is {value:g}, the job needs "
                         f"{size.cpu:g}", "request a quota increase (Service Quotas, "
                         "L-3032A538) or ask for less", "checks")
    return None


def _check_network(clients: AwsClients,
                   environments: list[dict[str, Any]]) -> Diagnosis | None:
    subnets = sorted({s for e in environments
                      for s in (e.get("computeResources") or {}).get("subnets", [])})
    if not subnets:
        return None
    isolated = [s for s in subnets if subnet_route(clients.ec2, s) is None]
    if not isolated:
        return None
    return Diagnosis(f"subnets {', '.join(isolated)} have no route to the internet (no internet "
                     "or NAT gateway) and the VPC has no ECR/S3 endpoints: image pulls will "
                     "fail", "use subnets with a route out, add a NAT gateway, or add VPC "
                     "endpoints for ecr.api, ecr.dkr, s3 and logs", "checks")


def _nothing_found(job: dict[str, Any]) -> Diagnosis:
    return Diagnosis(f"no cause found; the job is {job['status']}",
                     "Batch may be scaling the compute environment up (EC2 can take a few "
                     "minutes); batchmagic doctor checks the whole setup", "checks")

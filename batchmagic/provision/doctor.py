"""`run_doctor`: check a configured setup, one check per thing a run needs, each with its fix."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from batchmagic.aws.clients import AwsClients
from batchmagic.errors import AwsError, ConfigurationError
from batchmagic.provision import doctor_capacity as capacity
from batchmagic.provision import resources as res
from batchmagic.provision.calls import call
from batchmagic.provision.report import FAIL, PASS, SKIP, CheckResult
from batchmagic.settings import LOG_GROUP, Settings

__all__ = ["CheckResult", "fargate_size_problem", "run_doctor"]

_SETUP = "run `batchmagic setup`"
# Setup needs working credentials itself: without them the fix is the credentials.
_CREDENTIALS = ("configure AWS credentials (`aws configure`, --profile, AWS_PROFILE), or check "
                "the emulator with --local")
_ENDPOINT = ("check that --endpoint-url answers (`batchmagic emulator --background` starts the "
             "local emulator)")

# Valid Fargate memory (MiB) per vCPU count: from AWS's task size table.
_FARGATE_MEMORY: dict[float, range] = {
    0.25: range(512, 2049, 512),
    0.5: range(1024, 4097, 1024),
    1.0: range(2048, 8193, 1024),
    2.0: range(4096, 16385, 1024),
    4.0: range(8192, 30721, 1024),
    8.0: range(16384, 61441, 4096),
    16.0: range(32768, 122881, 8192),
}


def _local_size_problem(platform: str, cpu: float, memory: int) -> str | None:
    if platform != "fargate":
        return None
    sizes = _FARGATE_MEMORY.get(float(cpu))
    if sizes is None:
        return f"{cpu:g} vCPU is not a Fargate size (0.25, 0.5, 1, 2, 4, 8 or 16)"
    if memory not in sizes:
        return (f"{memory} MiB does not go with {cpu:g} vCPU on Fargate "
                f"({sizes.start}-{sizes.stop - 1} MiB in steps of {sizes.step})")
    return None


def fargate_size_problem(platform: str, cpu: float, memory: int) -> str | None:
    """Why ``cpu``/``memory`` is not a valid job size on ``platform``, or None when it is.

    Uses ``batchmagic.jobdef.sizes.validate_size`` when present so the magic and doctor agree.
    """
    try:
        from batchmagic.jobdef.sizes import validate_size  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return _local_size_problem(platform, cpu, memory)
    try:
        validate_size(platform, cpu, memory)
    except ConfigurationError as error:
        return str(error)
    return None


def run_doctor(clients: AwsClients, settings: Settings) -> list[CheckResult]:
    """Check credentials, bucket, roles, compute environment, queue, job size and log group.

    Never raises for an AWS failure: each becomes a FAIL with AWS's reason and the usual fix.
    Checks that cannot run without credentials are SKIPped.
    """
    checks = [_guard("credentials", lambda: _credentials(clients),
                     fix=_ENDPOINT if clients.target.endpoint_url else _CREDENTIALS)]
    if not checks[0].ok:
        skipped = ("bucket", "execution role", "task role", "compute environment", "job queue",
                   "log group", "maxvCpus", "network", "Fargate quota")
        checks += [CheckResult(name, SKIP, "needs working credentials") for name in skipped]
        checks.append(_guard("job size", lambda: _size(settings)))
        return checks
    queue: dict[str, Any] = {}
    checks += [
        _guard("bucket", lambda: _bucket(clients, settings)),
        _guard("execution role", lambda: _role(clients, settings.execution_role, "execution")),
        _guard("task role", lambda: _role(clients, settings.task_role, "task")),
        _guard("job queue", lambda: _queue(clients, settings, queue)),
    ]
    # The environment check uses the queue's environment when none is configured.
    checks.insert(4, _guard("compute environment", lambda: _ce(clients, settings, queue)))
    checks += [
        _guard("job size", lambda: _size(settings)),
        _guard("log group", lambda: _log_group(clients)),
    ]
    described: list[dict[str, Any] | None] = []

    def ce() -> dict[str, Any] | None:
        if not described:
            described.append(capacity.compute_environment(clients, settings, queue))
        return described[0]

    checks += [
        _guard("maxvCpus", lambda: capacity.max_vcpus(ce(), settings)),
        _guard("network", lambda: capacity.network(clients, ce())),
        _guard("Fargate quota", lambda: capacity.fargate_quota(clients, settings, ce())),
    ]
    return checks


def _guard(name: str, check: Callable[[], tuple[str, str, str]], fix: str = _SETUP
           ) -> CheckResult:
    """Run one check; an AWS error is a FAIL with AWS's reason and its fix (else ``fix``)."""
    try:
        status, detail, found_fix = check()
    except AwsError as error:
        detail, _, found_fix = str(error).partition(" - fix: ")
        return CheckResult(name, FAIL, detail, found_fix or fix)
    return CheckResult(name, status, detail, found_fix)


def _credentials(clients: AwsClients) -> tuple[str, str, str]:
    identity = call("sts:GetCallerIdentity", clients.sts.get_caller_identity)
    return PASS, f"{identity['Arn']} on {clients.target.describe()}", ""


def _bucket(clients: AwsClients, settings: Settings) -> tuple[str, str, str]:
    if not settings.bucket:
        return FAIL, "no bucket configured", f"{_SETUP}, or pass --bucket"
    key = f"{settings.prefix.strip('/')}/.doctor/{uuid.uuid4().hex}"
    call("s3:PutObject", clients.s3.put_object, Bucket=settings.bucket, Key=key, Body=b"ok")
    call("s3:DeleteObject", clients.s3.delete_object, Bucket=settings.bucket, Key=key)
    return PASS, f"s3://{settings.bucket}/{settings.prefix.strip('/')}/ is writable", ""


def _role(clients: AwsClients, arn: str | None, which: str) -> tuple[str, str, str]:
    if not arn:
        return FAIL, f"no {which} role configured", f"{_SETUP}, or set {which}_role"
    name = res.role_name(arn)
    try:
        role = call("iam:GetRole", clients.iam.get_role, RoleName=name)["Role"]
    except AwsError as error:
        if error.code == "NoSuchEntity":
            return FAIL, f"role {name} does not exist", _SETUP
        raise
    trusted = res.trusted_services(role.get("AssumeRolePolicyDocument"))
    if res.ECS_TASKS not in trusted:
        return (FAIL, f"role {name} does not trust {res.ECS_TASKS}",
                f"add {res.ECS_TASKS} to its trust policy (`aws iam update-assume-role-policy`)")
    return PASS, f"{name} trusts {res.ECS_TASKS}", ""


def _describe_queue(clients: AwsClients, name: str) -> dict[str, Any] | None:
    found = call("batch:DescribeJobQueues", clients.batch.describe_job_queues,
                 jobQueues=[name])["jobQueues"]
    return dict(found[0]) if found else None


def _queue(clients: AwsClients, settings: Settings,
           found: dict[str, Any]) -> tuple[str, str, str]:
    if not settings.queue:
        return FAIL, "no job queue configured", f"{_SETUP}, or pass --queue"
    queue = _describe_queue(clients, settings.queue)
    if queue is None or queue.get("status") == "DELETED":
        return FAIL, f"job queue {settings.queue} does not exist", _SETUP
    found.update(queue)
    name = queue.get("jobQueueName", settings.queue)
    if queue.get("state") != "ENABLED":
        return (FAIL, f"job queue {name} is {queue.get('state')}",
                f"aws batch update-job-queue --job-queue {name} --state ENABLED")
    if queue.get("status") != "VALID":
        return (FAIL, f"job queue {name} is {queue.get('status')}: "
                f"{queue.get('statusReason', '')}".rstrip(": "),
                "wait while it is CREATING/UPDATING; if INVALID, teardown and setup again")
    attached = [str(o["computeEnvironment"]) for o in queue.get("computeEnvironmentOrder", [])]
    wanted = settings.compute_environment
    if wanted and not any(a == wanted or a.endswith(f"/{wanted}") for a in attached):
        return (FAIL, f"job queue {name} does not use compute environment {wanted}",
                f"attach it: aws batch update-job-queue --job-queue {name} "
                "--compute-environment-order order=1,computeEnvironment=" + wanted)
    return PASS, f"{name} is VALID and ENABLED", ""


def _ce(clients: AwsClients, settings: Settings,
        queue: dict[str, Any]) -> tuple[str, str, str]:
    name = settings.compute_environment
    if not name:
        order = queue.get("computeEnvironmentOrder") or []
        if not order:
            return FAIL, "no compute environment configured", _SETUP
        name = str(order[0]["computeEnvironment"])
    found = call("batch:DescribeComputeEnvironments",
                 clients.batch.describe_compute_environments,
                 computeEnvironments=[name])["computeEnvironments"]
    if not found or found[0].get("status") == "DELETED":
        return FAIL, f"compute environment {name} does not exist", _SETUP
    ce = found[0]
    name = ce.get("computeEnvironmentName", name)
    # EKS environments run pods, not the ECS multi-container tasks batchmagic submits.
    orchestration = ce.get("containerOrchestrationType") or ("EKS" if ce.get("eksConfiguration")
                                                            else "ECS")
    if orchestration != "ECS":
        return (FAIL, f"compute environment {name} is {orchestration}-orchestrated",
                "use an ECS compute environment (`batchmagic setup` creates one)")
    if ce.get("state") != "ENABLED":
        return (FAIL, f"compute environment {name} is {ce.get('state')}",
                f"aws batch update-compute-environment --compute-environment {name} "
                "--state ENABLED")
    if ce.get("status") != "VALID":
        return (FAIL, f"compute environment {name} is {ce.get('status')}: "
                f"{ce.get('statusReason', '')}".rstrip(": "),
                "fix the reason shown, or teardown and setup again")
    kind = str((ce.get("computeResources") or {}).get("type", ""))
    fargate = kind.startswith("FARGATE")
    if kind and fargate != (settings.platform == "fargate"):
        return (FAIL, f"compute environment {name} is {kind} but platform is "
                f"{settings.platform}", "set platform to match, or use another environment")
    return PASS, f"{name} is VALID, ENABLED, ECS{', ' + kind if kind else ''}", ""


def _size(settings: Settings) -> tuple[str, str, str]:
    problem = fargate_size_problem(settings.platform, settings.cpu, settings.memory)
    size = f"{settings.cpu:g} vCPU, {settings.memory} MiB on {settings.platform}"
    if problem:
        return FAIL, f"{size}: {problem}", "set cpu/memory to a valid pair (%aws_batch_config)"
    return PASS, size, ""


def _log_group(clients: AwsClients) -> tuple[str, str, str]:
    groups = call("logs:DescribeLogGroups", clients.logs.describe_log_groups,
                  logGroupNamePrefix=LOG_GROUP)["logGroups"]
    if not any(g["logGroupName"] == LOG_GROUP for g in groups):
        return FAIL, f"log group {LOG_GROUP} does not exist", _SETUP
    return PASS, f"{LOG_GROUP} exists", ""

"""`batchmagic setup` / ensure_setup against the emulator, over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batchmagic.aws.clients import AwsClients
from batchmagic.cli import main
from batchmagic.errors import ConfigurationError
from batchmagic.provision import resources as res
from batchmagic.provision.report import CREATED, REUSED, WOULD_CREATE, ResourceResult
from batchmagic.provision.setup import ensure_setup
from batchmagic.settings import LOG_GROUP, read_settings_file

MANAGED = {res.TAG_MANAGED: "true"}


def _tags(items: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items}


def _ours(tags: dict[str, str], name: str) -> bool:
    return tags.get(res.TAG_MANAGED) == "true" and tags.get(res.TAG_NAME) == name


def _resources(clients: AwsClients, name: str) -> dict[str, Any]:
    """Everything a setup named ``name`` may have made, as the emulator reports it."""
    iam, batch, ec2 = clients.iam, clients.batch, clients.ec2
    roles = {r["RoleName"]: r for r in iam.list_roles()["Roles"]
             if r["RoleName"].startswith(f"{name}-")}
    ces = batch.describe_compute_environments(
        computeEnvironments=[f"{name}-fargate"])["computeEnvironments"]
    queues = batch.describe_job_queues(jobQueues=[f"{name}-queue"])["jobQueues"]
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{name}-jobs"]}])["SecurityGroups"]
    buckets = [b["Name"] for b in clients.s3.list_buckets()["Buckets"]
               if b["Name"].startswith(f"{name}-")]
    return {"roles": roles, "ces": ces, "queues": queues, "groups": groups, "buckets": buckets}


def test_setup_creates_everything_tagged_and_locked_down(
        clients: AwsClients, name: str, config: Path, emulator_url: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "--name", name, "--endpoint-url", emulator_url]) == 0
    out = capsys.readouterr().out
    for line in ("log group", "bucket", "execution role", "task role", "security group",
                 "compute environment", "job queue"):
        assert line in out
    assert "%aws_batch_config --region us-east-1" in out

    settings = read_settings_file(config)
    bucket = f"{name}-123456789012-us-east-1"
    assert settings["bucket"] == bucket
    assert settings["queue"] == f"{name}-queue"
    assert settings["compute_environment"] == f"{name}-fargate"
    assert settings["execution_role"].endswith(f":role/{name}-execution")
    assert settings["task_role"].endswith(f":role/{name}-task")
    assert settings["platform"] == "fargate"
    assert settings["endpoint_url"] == emulator_url

    iam = clients.iam
    execution = iam.get_role(RoleName=f"{name}-execution")["Role"]
    assert _ours(_tags(execution["Tags"]), name)
    assert res.trusted_services(execution["AssumeRolePolicyDocument"]) == {res.ECS_TASKS}
    attached = iam.list_attached_role_policies(RoleName=f"{name}-execution")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [res.EXECUTION_POLICY_ARN]

    task = iam.get_role(RoleName=f"{name}-task")["Role"]
    assert _ours(_tags(task["Tags"]), name)
    policy = res.policy_document(iam.get_role_policy(
        RoleName=f"{name}-task", PolicyName=res.TASK_POLICY_NAME)["PolicyDocument"])
    resources = [r for s in policy["Statement"] for r in
                 ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])]
    assert "*" not in resources
    assert set(resources) == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/batchmagic/*"}

    s3 = clients.s3
    assert _ours(_tags(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]), name)
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == res.PUBLIC_ACCESS_BLOCK
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["Filter"]["Prefix"] == "batchmagic/"
    assert rule["Expiration"]["Days"] == res.RUN_EXPIRY_DAYS
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1

    (group,) = _resources(clients, name)["groups"]
    assert _ours(_tags(group["Tags"]), name)
    assert group["IpPermissions"] == []
    assert group["IpPermissionsEgress"]

    (ce,) = clients.batch.describe_compute_environments(
        computeEnvironments=[f"{name}-fargate"])["computeEnvironments"]
    assert (ce["status"], ce["state"], ce["type"]) == ("VALID", "ENABLED", "MANAGED")
    assert ce["computeResources"]["type"] == "FARGATE"
    assert ce["computeResources"]["securityGroupIds"] == [group["GroupId"]]
    assert "serviceRole" not in ce or not ce["serviceRole"]
    assert _ours(ce["tags"], name)

    (queue,) = clients.batch.describe_job_queues(jobQueues=[f"{name}-queue"])["jobQueues"]
    assert (queue["status"], queue["state"], queue["priority"]) == ("VALID", "ENABLED", 1)
    assert [o["computeEnvironment"] for o in queue["computeEnvironmentOrder"]] == [
        ce["computeEnvironmentArn"]]
    assert _ours(queue["tags"], name)

    groups = clients.logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
    assert any(g["logGroupName"] == LOG_GROUP for g in groups)


def test_setup_twice_changes_nothing(clients: AwsClients, name: str, config: Path,
                                     emulator_url: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "--name", name, "--endpoint-url", emulator_url]) == 0
    first_settings = config.read_text()
    before = _resources(clients, name)
    capsys.readouterr()

    assert main(["setup", "--name", name, "--endpoint-url", emulator_url]) == 0
    out = capsys.readouterr().out
    actions = [line.split()[0] for line in out.splitlines() if line.startswith("  ") and
               line.split()[0] in (CREATED, REUSED, "updated", "would")]
    assert actions == [REUSED] * 7, out
    assert "nothing changed" in out
    assert config.read_text() == first_settings
    after = _resources(clients, name)
    assert after["roles"].keys() == before["roles"].keys()
    assert [c["computeEnvironmentArn"] for c in after["ces"]] == [
        c["computeEnvironmentArn"] for c in before["ces"]]
    assert [q["jobQueueArn"] for q in after["queues"]] == [
        q["jobQueueArn"] for q in before["queues"]]
    assert after["groups"] == before["groups"]
    assert after["buckets"] == before["buckets"]


def test_ensure_setup_api_reports_and_is_quiet_when_done(
        clients: AwsClients, name: str, config: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[ResourceResult] = []
    result = ensure_setup(clients, name=name, region="us-east-1", report=seen.append)
    assert result.changed
    assert {r.action for r in seen} == {CREATED, REUSED}  # the shared log group may exist
    again = ensure_setup(clients, name=name, region="us-east-1")
    assert not again.changed
    assert again.settings == result.settings
    assert capsys.readouterr().out == ""
    assert not config.exists()  # the API does not write the settings file


def test_dry_run_creates_nothing(clients: AwsClients, name: str, config: Path,
                                 emulator_url: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "--name", name, "--endpoint-url", emulator_url, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count(WOULD_CREATE) >= 6
    assert "nothing was changed" in out
    found = _resources(clients, name)
    assert not any(found.values()), found
    assert not config.exists()


def test_ec2_platform_creates_instance_profile(clients: AwsClients, name: str) -> None:
    result = ensure_setup(clients, name=name, region="us-east-1", platform="ec2")
    assert result.settings["compute_environment"] == f"{name}-ec2"
    assert result.settings["cpu"] == "3"  # the smallest EC2 job: a whole vCPU per container
    assert "--cpu 3" in result.config_line()
    profile = clients.iam.get_instance_profile(
        InstanceProfileName=f"{name}-ecs-instance")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [f"{name}-ecs-instance"]
    (ce,) = clients.batch.describe_compute_environments(
        computeEnvironments=[f"{name}-ec2"])["computeEnvironments"]
    resources = ce["computeResources"]
    assert resources["type"] == "EC2"
    assert resources["instanceTypes"] == ["optimal"]
    assert resources["minvCpus"] == 0
    assert resources["instanceRole"] == profile["Arn"]


def test_task_policy_follows_a_new_bucket(clients: AwsClients, name: str) -> None:
    ensure_setup(clients, name=name, region="us-east-1")
    other = f"{name}-other"
    result = ensure_setup(clients, name=name, region="us-east-1", bucket=other)
    task = next(r for r in result.resources if r.kind == "task role")
    assert task.action == "updated"
    policy = clients.iam.get_role_policy(RoleName=f"{name}-task",
                                         PolicyName=res.TASK_POLICY_NAME)["PolicyDocument"]
    assert other in json.dumps(res.policy_document(policy))


def test_bad_name_is_a_configuration_error(clients: AwsClients) -> None:
    with pytest.raises(ConfigurationError, match="--name"):
        ensure_setup(clients, name="bad name!", region="us-east-1")


def test_standard_aws_endpoint_url_variable_is_honoured(
        clients: AwsClients, name: str, config: Path, emulator_url: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_url)
    assert main(["setup", "--name", name, "--region", "eu-west-1"]) == 0
    assert f"emulator at {emulator_url} (eu-west-1)" in capsys.readouterr().out
    settings = read_settings_file(config)
    assert settings["endpoint_url"] == emulator_url
    assert settings["bucket"] == f"{name}-123456789012-eu-west-1"
    assert settings["region"] == "eu-west-1"


def test_setup_spot_gpu_and_secrets_prefix(clients: AwsClients, name: str, config: Path,
                                           emulator_url: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "--name", name, "--endpoint-url", emulator_url, "--spot", "--gpu",
                 "--secrets-prefix", "team-a/"]) == 0
    out = capsys.readouterr().out
    assert f"--spot-queue {name}-spot-queue" in out and f"--gpu-queue {name}-gpu-queue" in out
    settings = read_settings_file(config)
    assert (settings["spot_queue"], settings["gpu_queue"]) == (f"{name}-spot-queue",
                                                               f"{name}-gpu-queue")
    kinds = {}
    for queue in (f"{name}-spot-queue", f"{name}-gpu-queue"):
        (found,) = clients.batch.describe_job_queues(jobQueues=[queue])["jobQueues"]
        ce = found["computeEnvironmentOrder"][0]["computeEnvironment"]
        (env,) = clients.batch.describe_compute_environments(
            computeEnvironments=[ce])["computeEnvironments"]
        kinds[queue] = env["computeResources"]
    assert kinds[f"{name}-spot-queue"]["type"] == "FARGATE_SPOT"
    assert kinds[f"{name}-gpu-queue"]["type"] == "EC2"
    assert kinds[f"{name}-gpu-queue"]["instanceTypes"] == ["g4dn", "g5"]
    policy = clients.iam.get_role_policy(RoleName=f"{name}-execution",
                                         PolicyName="batchmagic-secrets")["PolicyDocument"]
    resources = [s["Resource"] for s in policy["Statement"]]
    assert resources == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:team-a/*",
        "arn:aws:ssm:us-east-1:123456789012:parameter/team-a/*"]


def test_a_create_whose_answer_was_lost_is_taken_as_created() -> None:
    """Batch carried out CreateComputeEnvironment / CreateJobQueue but the answer was lost (the
    emulator's `after` faults): botocore sent it again and Batch said "Object already exists".
    Setup takes the resource found under that name instead of failing."""
    from batchmagic.aws.clients import AwsTarget
    from batchmagic.emulator import run_emulator

    refused: list[str] = []

    def note(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        message = str(parsed.get("Error", {}).get("Message", ""))
        if "already exists" in message:
            refused.append(model.name)

    for seed in (0, 4):  # one loses a CreateComputeEnvironment answer, one a CreateJobQueue's
        with run_emulator(faults=f"error=0.3,after=1.0,seed={seed}") as url:
            clients = AwsClients(AwsTarget(region="us-east-1", endpoint_url=url, emulator=True))
            clients.batch.meta.events.register("after-call.batch", note)
            result = ensure_setup(clients, region="us-east-1", timeout=30)
            assert result.settings["queue"] == "batchmagic-queue"
    assert {"CreateComputeEnvironment", "CreateJobQueue"} <= set(refused), refused

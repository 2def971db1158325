"""--spot, --arch, --gpu, --secret and --retries: payloads AWS accepts (botocore validates
them), behaviour on the emulator, and one clear line for each bad value."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.validate import ParamValidator

from batchmagic.aws.clients import AwsClients
from batchmagic.errors import ConfigurationError
from tests.helpers import job_count, object_count
from tests.notebook.test_dry_run_sizes import _payload

BATCH_MODEL = boto3.client("batch", region_name="us-east-1").meta.service_model


def _valid(operation: str, payload: dict[str, Any]) -> None:
    report = ParamValidator().validate(payload, BATCH_MODEL.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def _dry_run(ip: Any, capsys: pytest.CaptureFixture[str], line: str) -> tuple[dict[str, Any],
                                                                              dict[str, Any]]:
    ip.run_cell_magic("aws_batch", f"--local --dry-run {line}", "x = 1\n")
    out = capsys.readouterr().out
    definition = _payload(out, "RegisterJobDefinition")
    submit = _payload(out, "SubmitJob")
    _valid("RegisterJobDefinition", definition)
    _valid("SubmitJob", submit)
    return definition, submit


def _main(containers: list[dict[str, Any]]) -> dict[str, Any]:
    return next(c for c in containers if c["name"] == "main")


def test_arch_arm64_sets_the_fargate_runtime_platform(ip: Any,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    definition, _ = _dry_run(ip, capsys, "--arch arm64")
    (task,) = definition["ecsProperties"]["taskProperties"]
    assert task["runtimePlatform"] == {"cpuArchitecture": "ARM64",
                                       "operatingSystemFamily": "LINUX"}
    default, _ = _dry_run(ip, capsys, "")
    assert "runtimePlatform" not in default["ecsProperties"]["taskProperties"][0]


def test_gpu_goes_to_main_on_ec2(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, submit = _dry_run(ip, capsys, "--platform ec2 --cpu 4 --memory 8192 --gpu 1")
    main = _main(submit["ecsPropertiesOverride"]["taskProperties"][0]["containers"])
    assert {"type": "GPU", "value": "1"} in main["resourceRequirements"]


def test_secret_arns_go_into_the_definition_and_their_values_reach_the_cell(
        ip: Any, capsys: pytest.CaptureFixture[str], local_clients: AwsClients) -> None:
    manager = local_clients.session.client("secretsmanager",
                                           endpoint_url=local_clients.target.endpoint_url)
    arn = manager.create_secret(Name=f"token-{id(ip)}", SecretString="s3cr3t-value")["ARN"]
    definition, _ = _dry_run(ip, capsys, f"--secret API_TOKEN={arn}")
    main = _main(definition["ecsProperties"]["taskProperties"][0]["containers"])
    assert main["secrets"] == [{"name": "API_TOKEN", "valueFrom": arn}]
    assert "s3cr3t-value" not in json.dumps(definition)
    run = ip.run_cell_magic("aws_batch", f"--secret API_TOKEN={arn} --pull n",
                            "import os\nn = len(os.environ['API_TOKEN'])")
    assert ip.user_ns["n"] == len("s3cr3t-value") and run.exit_code == 0


def test_a_secret_that_cannot_be_read_stops_the_task_as_on_ecs(ip: Any) -> None:
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"
    with pytest.raises(Exception, match="ResourceInitializationError"):
        ip.run_cell_magic("aws_batch", f"--secret X={missing}", "print(1)")


def test_spot_runs_on_the_spot_queue_and_prices_as_spot(ip: Any,
                                                        local_clients: AwsClients) -> None:
    run = ip.run_cell_magic("aws_batch", "--spot --result r", "print('on spot')")
    job = local_clients.batch.describe_jobs(jobs=[run.job_id])["jobs"][0]
    assert job["jobQueue"].endswith("-spot-queue")
    (queue,) = local_clients.batch.describe_job_queues(jobQueues=[job["jobQueue"]])["jobQueues"]
    ce = queue["computeEnvironmentOrder"][0]["computeEnvironment"]
    (environment,) = local_clients.batch.describe_compute_environments(
        computeEnvironments=[ce])["computeEnvironments"]
    assert environment["computeResources"]["type"] == "FARGATE_SPOT"
    assert run.spot and "Spot" in str(run.cost)


BAD_OPTIONS = [
    ("--gpu 1", "--gpu: Fargate has no GPUs"),
    ("--platform ec2 --cpu 4 --memory 8192 --gpu 9", "--gpu 9: use 1-8"),
    ("--platform ec2 --cpu 4 --memory 8192 --arch arm64", "--arch arm64 is a Fargate setting"),
    ("--secret TOKEN=not-an-arn", "is not a secret ARN"),
    ("--secret TOKEN", "expected NAME=ARN"),
    ("--secret AWS_BATCH_X=arn:aws:ssm:us-east-1:123456789012:parameter/x", "reserved"),
    ("--retries 11", "--retries 11: use 0-9"),
]


@pytest.mark.parametrize(("line", "message"), BAD_OPTIONS, ids=[b[1][:25] for b in BAD_OPTIONS])
def test_bad_aws_options_are_one_line_before_anything_is_sent(
        ip: Any, local_clients: AwsClients, line: str, message: str) -> None:
    jobs, objects = job_count(local_clients), object_count(local_clients)
    with pytest.raises(ConfigurationError) as raised:
        ip.run_cell_magic("aws_batch", f"--local {line}", "print(1)")
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert (job_count(local_clients), object_count(local_clients)) == (jobs, objects)


def test_spot_without_a_spot_queue_says_how_to_create_one(ip: Any,
                                                         local_clients: AwsClients) -> None:
    url = local_clients.target.endpoint_url
    objects = object_count(local_clients)
    with pytest.raises(ConfigurationError, match="batchmagic setup --spot"):
        ip.run_cell_magic("aws_batch", f"--endpoint-url {url} --bucket spot-test --queue q --spot",
                          "print(1)")
    assert object_count(local_clients) == objects


def test_retries_retry_infrastructure_failures_only(ip: Any, local_clients: AwsClients) -> None:
    run = ip.run_cell_magic("aws_batch", "--retries 2 --result r", "print('once')")
    job = local_clients.batch.describe_jobs(jobs=[run.job_id])["jobs"][0]
    strategy = job["retryStrategy"]
    assert strategy["attempts"] == 3
    assert {"onReason": "CannotPullContainerError*", "action": "RETRY"} in (
        strategy["evaluateOnExit"])
    assert strategy["evaluateOnExit"][-1] == {"onReason": "*", "action": "EXIT"}

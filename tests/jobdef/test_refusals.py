"""Each refusal of a job's shape is one whole line as the user reads it, at the exact limit AWS
sets (the limits' sources are in each module's docstring)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from batchmagic.errors import ConfigurationError
from batchmagic.jobdef import describe, extras, limits, names, sizes, spec
from batchmagic.settings import Settings
from tests.jobdef.test_spec import make_spec, submit

REFUSALS: list[tuple[Callable[[], object], str]] = [
    (lambda: limits.check_tags({"bad*": "v"}, {}, propagate=False),
     "tag key 'bad*': Batch allows 1-128 letters, digits, spaces and + - = . _ : / @ (not "
     "starting with aws:)"),
    (lambda: limits.check_tags({"k": "a,b"}, {}, propagate=False),
     "tag k='a,b': Batch allows at most 256 letters, digits, spaces and + - = . _ : / @ in a "
     "tag value"),
    (lambda: limits.check_overrides([{"name": "main", "environment": [
        {"name": "AWS_BATCH_X", "value": ""}]}]),
     "--env AWS_BATCH_X: names starting with AWS_BATCH are reserved by AWS Batch"),
    (lambda: limits.check_overrides([{"name": "main", "command": ["x" * 9000]}]),
     "the containers' commands (the --outputs patterns) total 9,004 characters; Batch allows "
     "8,192 for all overrides (this run's come to 9,482 with what Batch adds): use fewer, "
     "broader --outputs patterns or write results under {{ outputDir }}"),
    (lambda: limits.check_overrides([{"name": "main", "environment": [
        {"name": "BIG", "value": "x" * 9000}]}]),
     "--env values total 9,007 characters; Batch allows 8,192 for all overrides (this run's "
     "come to 9,509 with what Batch adds): put large values in an input file"),
    (lambda: names.validate_env(["X"]), "--env 'X': expected KEY=VALUE."),
    (lambda: names.validate_env(["1X=2"]),
     "--env '1X=2': '1X' is not a valid variable name (letters, digits and '_', not starting "
     "with a digit)."),
    (lambda: names.validate_env(["aws_secret_access_key=2"]),
     "--env aws_secret_access_key: AWS credentials are not passed to jobs. The containers get "
     "their credentials from the task role (--task-role); give that role the permissions the "
     "cell needs."),
    (lambda: names.validate_env(["aws_batch_x=2"]),
     "--env aws_batch_x: names starting with AWS_BATCH are reserved by AWS Batch."),
    (lambda: names.validate_env(["BATCHMAGIC_X=2"]),
     "--env BATCHMAGIC_X: names starting with BATCHMAGIC_ are set by batchmagic itself."),
    (lambda: extras.validate_arch("sparc", "fargate"), "--arch 'sparc': use x86_64 or arm64"),
    (lambda: extras.validate_arch("ARM64", "ec2"),
     "--arch arm64 is a Fargate setting; on EC2 the compute environment's instance types decide "
     "the architecture (use Graviton instance types there)"),
    (lambda: extras.validate_gpu(1, "fargate"),
     "--gpu: Fargate has no GPUs; use --platform ec2 with a GPU compute environment "
     "(`batchmagic setup --gpu` creates one)"),
    (lambda: extras.validate_gpu(9, "ec2"), "--gpu 9: use 1-8"),
    (lambda: extras.parse_secrets(["TOKEN=arn:aws:nope"]),
     "--secret TOKEN: 'arn:aws:nope' is not a secret ARN; use "
     "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME or "
     "arn:aws:ssm:REGION:ACCOUNT:parameter/NAME"),
    (lambda: sizes.validate_size("lambda", 4, 256),
     "Unknown platform 'lambda': use fargate or ec2 (--platform fargate|ec2)."),
    (lambda: sizes.validate_size("fargate", 3, 1024),
     "Fargate does not offer 3 vCPU: choose --cpu from 0.25, 0.5, 1, 2, 4, 8, 16 (more, or "
     "GPUs, need --platform ec2)."),
    (lambda: sizes.validate_size("fargate", 0, 512),
     "Fargate does not offer 0 vCPU: choose --cpu from 0.25, 0.5, 1, 2, 4, 8, 16 (more, or "
     "GPUs, need --platform ec2)."),
    (lambda: sizes.validate_size("fargate", 1, 1024),
     "Fargate does not offer 1024 MiB with 1 vCPU: with --cpu 1, --memory must be 2048-8192 in "
     "steps of 1024 (MiB)."),
    # Up to four sizes are listed one by one.
    (lambda: sizes.validate_size("fargate", 0.5, 512),
     "Fargate does not offer 512 MiB with 0.5 vCPU: with --cpu 0.5, --memory must be 1024, "
     "2048, 3072, 4096 (MiB)."),
    (lambda: sizes.validate_size("fargate", 0.25, 4096),
     "Fargate does not offer 4096 MiB with 0.25 vCPU: with --cpu 0.25, --memory must be 512, "
     "1024, 2048 (MiB)."),
    (lambda: sizes.validate_size("ec2", 2.5, 4096),
     "EC2 jobs need whole vCPUs, not 2.5: use an integer --cpu (at least 3), or --platform "
     "fargate for fractional sizes."),
    (lambda: sizes.validate_size("ec2", 2, 4096),
     "--cpu 2 is too small for an EC2 job: each of its three containers needs a whole vCPU on "
     "EC2, so use --cpu 3 or more (or --platform fargate, whose smallest job is 0.25 vCPU)."),
    (lambda: sizes.validate_size("ec2", 4, 256),
     "--memory 256 MiB is too small for a job of three containers: use at least 512 MiB."),
    (lambda: make_spec(image="").validate(), "No container image: set --image."),
    (lambda: make_spec(platform="ec2", cpu=4.0, ephemeral_storage=50).validate(),
     "--ephemeral-storage only applies to Fargate; on EC2 the instance's disk (launch "
     "template) decides."),
    (lambda: make_spec(ephemeral_storage=20).validate(),
     "--ephemeral-storage must be 21-200 GiB (Fargate gives 20 GiB when unset), not 20."),
    (lambda: make_spec(ephemeral_storage=201).validate(),
     "--ephemeral-storage must be 21-200 GiB (Fargate gives 20 GiB when unset), not 201."),
    (lambda: make_spec(timeout=59).validate(), "--timeout: AWS Batch needs at least 60 seconds"),
    (lambda: submit(job_name="-cell"),
     "Invalid job name '-cell': use 1-128 letters, digits, '-' or '_', starting with a letter "
     "or digit."),
]


@pytest.mark.parametrize(("refuse", "message"), REFUSALS,
                         ids=[message[:40] for _, message in REFUSALS])
def test_each_refusal_is_one_line_naming_the_option_and_the_fix(
        refuse: Callable[[], object], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        refuse()
    assert str(info.value) == message


def test_the_edges_of_each_limit_are_accepted() -> None:
    make_spec(ephemeral_storage=21).validate()
    make_spec(ephemeral_storage=200).validate()
    make_spec(timeout=60).validate()
    make_spec(platform="ec2", cpu=3.0, memory=512, gpu=8).validate()
    limits.check_tags({f"k{i}": "v" for i in range(50)}, {}, propagate=False)
    limits.check_tags({f"k{i}": "v" for i in range(25)}, {f"d{i}": "v" for i in range(25)},
                      propagate=True)
    with pytest.raises(ConfigurationError, match=r"^51 tags"):
        limits.check_tags({f"k{i}": "v" for i in range(51)}, {}, propagate=False)


def _overrides_of(total: int) -> list[dict[str, Any]]:
    """One container whose overrides, with what Batch adds, come to exactly ``total``."""
    container: dict[str, Any] = {"name": "main", "command": [""]}
    empty = limits._chars([container]) + limits.BATCH_ADDED_CHARS_PER_CONTAINER
    container["command"] = ["x" * (total - empty)]
    return [container]


def test_overrides_may_use_all_8192_characters_with_what_batch_adds() -> None:
    limits.check_overrides(_overrides_of(8192))
    with pytest.raises(ConfigurationError, match=r"this run's come to 8,193 with what Batch"):
        limits.check_overrides(_overrides_of(8193))
    # Batch's own variables are counted once per container.
    two = [*_overrides_of(8192 - 100), {"name": "stage-out"}]
    with pytest.raises(ConfigurationError, match=r"this run's come to 8,563 with what Batch"):
        limits.check_overrides(two)


def test_when_env_and_commands_weigh_the_same_the_env_is_named() -> None:
    container = {"name": "main", "command": ["x" * 4000],
                 "environment": [{"name": "", "value": "x" * 4000}]}
    with pytest.raises(ConfigurationError, match=r"^--env values total 4,004 characters"):
        limits.check_overrides([container])


def test_the_submitjob_body_stays_under_30_kib() -> None:
    def body(size: int) -> dict[str, str]:
        return {"k": "x" * (size - len('{"k": ""}'))}

    limits.check_body(body(30 * 1024 - 1))
    with pytest.raises(ConfigurationError) as info:
        limits.check_body(body(30 * 1024))
    assert str(info.value) == ("the SubmitJob request would be 30,720 bytes; Batch accepts less "
                               "than 30,720 (30 KiB): put large values in an input file")


def test_propagated_tags_count_with_the_definitions_in_a_submission() -> None:
    payload = {"tags": {f"k{i}": "v" for i in range(30)}, "propagateTags": True}
    limits.check_submission({**payload, "propagateTags": False}, {f"d{i}": "v" for i in range(30)})
    with pytest.raises(ConfigurationError, match=r"^60 tags"):
        limits.check_submission(payload, {f"d{i}": "v" for i in range(30)})


def test_job_names_keep_case_and_lose_leading_separators() -> None:
    assert names.sanitize_job_name("__My Cell.v2") == "My-Cell-v2"
    assert names.sanitize_job_name("-_-") == "batchmagic"
    assert names.sanitize_job_name("Xray_1") == "Xray_1"


def test_a_secret_arn_may_contain_equals_signs() -> None:
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db+pw=x-AbCdEf"
    assert extras.parse_secrets([f"DB={arn}"]) == (("DB", arn),)


def test_settings_reach_the_spec_whatever_the_platforms_case() -> None:
    settings = Settings(image="python:3.11", platform="EC2", cpu=4, memory=8192, gpu=2)
    arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/token"
    job_spec = spec.JobSpec.from_settings(settings, "eu-west-1", (("TOKEN", arn),))
    assert (job_spec.platform, job_spec.gpu, job_spec.arch) == ("ec2", 2, "X86_64")
    assert job_spec.secrets == (("TOKEN", arn),)
    main = next(c for c in submit(job_spec)["ecsPropertiesOverride"]["taskProperties"][0]
                ["containers"] if c["name"] == "main")
    assert {"type": "GPU", "value": "2"} in main["resourceRequirements"]
    definition = spec.job_definition_payload(job_spec)
    main_def = next(c for c in definition["ecsProperties"]["taskProperties"][0]["containers"]
                    if c["name"] == "main")
    assert main_def["secrets"] == [{"name": "TOKEN", "valueFrom": arn}]
    with pytest.raises(ConfigurationError, match=r"^--gpu: Fargate has no GPUs"):
        spec.JobSpec.from_settings(dataclasses.replace(settings, platform="fargate", cpu=1,
                                                       memory=2048), "eu-west-1")


def test_arm64_on_fargate_is_in_the_definition() -> None:
    arm = spec.JobSpec.from_settings(Settings(image="python:3.11", platform="FARGATE",
                                              arch="ARM64"), "eu-west-1")
    body = spec.job_definition_payload(arm)
    assert body["ecsProperties"]["taskProperties"][0]["runtimePlatform"] == {
        "cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}


def test_the_dry_run_shows_the_container_graph() -> None:
    assert describe.container_graph(make_spec()) == (
        "AWS Batch job on FARGATE (eu-west-1): 1 vCPU, 2048 MiB in total\n"
        "  stage-in  public.ecr.aws/aws-cli/aws-cli:latest\n"
        "            0.125 vCPU, 128 MiB; after: -; copy inputs s3 -> /work\n"
        "  main      public.ecr.aws/docker/library/python:3.11-slim\n"
        "            0.75 vCPU, 1792 MiB; after: stage-in SUCCESS; run the cell\n"
        "  stage-out public.ecr.aws/aws-cli/aws-cli:latest\n"
        "            0.125 vCPU, 128 MiB; after: main COMPLETE; copy results /work -> s3 "
        "(essential)\n"
        "  shared volume 'work' mounted at /work in all three")

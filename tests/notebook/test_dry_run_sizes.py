"""--dry-run shows, for each platform, only sizes that AWS accepts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from batchmagic.jobdef.sizes import FARGATE_MEMORY


def _payload(out: str, title: str) -> dict[str, Any]:
    start = out.index(f"== {title}")
    body = out[out.index("\n", start) + 1:]
    payload, _ = json.JSONDecoder().raw_decode(body)
    return dict(payload)


def _requirements(payload: dict[str, Any], key: str) -> list[dict[str, str]]:
    (task,) = payload[key]["taskProperties"]
    return [{r["type"]: r["value"] for r in c["resourceRequirements"]} for c in task["containers"]]


@pytest.mark.parametrize(("line", "platform"), [
    ("--platform ec2 --cpu 4 --memory 8192", "ec2"),
    ("--platform ec2 --cpu 3 --memory 512", "ec2"),
    ("--platform fargate --cpu 0.25 --memory 512", "fargate"),
    ("--platform fargate --cpu 16 --memory 122880", "fargate"),
])
def test_dry_run_sizes_are_accepted_by_aws(ip: Any, capsys: pytest.CaptureFixture[str],
                                           line: str, platform: str) -> None:
    ip.run_cell_magic("aws_batch", f"--local --dry-run {line}", "x = 1\n")
    out = capsys.readouterr().out
    definition = _requirements(_payload(out, "RegisterJobDefinition"), "ecsProperties")
    submit = _requirements(_payload(out, "SubmitJob"), "ecsPropertiesOverride")
    for containers in (definition, submit):
        cpus = [float(c["VCPU"]) for c in containers]
        memory = sum(int(c["MEMORY"]) for c in containers)
        if platform == "ec2":
            assert all(c["VCPU"].isdigit() and int(c["VCPU"]) >= 1 for c in containers)
        else:
            assert memory in FARGATE_MEMORY[sum(cpus)]

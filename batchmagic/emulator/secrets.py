"""Container ``secrets``: ECS resolves each ``valueFrom`` (a Secrets Manager secret ARN, optionally
``:json-key:version-stage:version-id``, or an SSM parameter ARN) with the execution role before
the container starts, and injects the value as an environment variable. A secret it cannot read
stops the task with ``ResourceInitializationError: unable to pull secrets or registry auth``
(Amazon ECS developer guide, "Pass sensitive data to a container"; "Troubleshoot
ResourceInitializationError").

The emulator reads them from its own Secrets Manager and Parameter Store (moto), over HTTP like
any client; the kernel never sees the values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import boto3

FAILURE = "ResourceInitializationError: unable to pull secrets or registry auth: {}"


def _value(endpoint_url: str, region: str, value_from: str) -> str:
    credentials = {"aws_access_key_id": "emulator", "aws_secret_access_key": "emulator"}
    if ":ssm:" in value_from:
        ssm = boto3.client("ssm", endpoint_url=endpoint_url, region_name=region, **credentials)
        name = value_from.split(":parameter", 1)[1]
        return str(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    manager = boto3.client("secretsmanager", endpoint_url=endpoint_url, region_name=region,
                           **credentials)
    parts = value_from.split(":")
    arn, json_key = ":".join(parts[:7]), (parts[7] if len(parts) > 7 else "")
    stage = parts[8] if len(parts) > 8 and parts[8] else None
    kwargs: dict[str, Any] = {"SecretId": arn}
    if stage:
        kwargs["VersionStage"] = stage
    secret = str(manager.get_secret_value(**kwargs)["SecretString"])
    return str(json.loads(secret)[json_key]) if json_key else secret


def resolve_secrets(secrets: Sequence[dict[str, str]], endpoint_url: str,
                    region: str) -> tuple[dict[str, str], str | None]:
    """Name -> value of each secret, or the reason the task cannot start."""
    values: dict[str, str] = {}
    for secret in secrets:
        try:
            values[secret["name"]] = _value(endpoint_url, region, secret["valueFrom"])
        except Exception as error:  # any failure to read stops the task, as on ECS
            return {}, FAILURE.format(f"{secret['valueFrom']}: {error}")
    return values, None

"""The run's manifest: a small JSON object next to ``in/`` and ``out/`` in S3.

What attach needs to finish a run from another machine (output patterns, pulled names, where
the files went, the cell's hash) does not fit Batch tags: tag values allow only letters,
digits, spaces and ``+ - = . _ : / @``, so globs (``*``) and lists (``,``) are refused. The job's
tags carry only the bucket and run prefix (charset-safe) that point at this object.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.errors import aws_errors
from batchmagic.errors import StagingError

MANIFEST_NAME = "manifest.json"
VERSION = 1


@dataclass(frozen=True)
class RunManifest:
    """What a run declared, readable without the ledger of the machine that started it."""

    job_name: str
    run_id: str
    user: str
    outputs: tuple[str, ...] = ()
    pull: tuple[str, ...] = ()
    output_dir: str = "."  # --output-dir as the user gave it (a hint for another machine)
    source_hash: str = ""
    version: int = VERSION

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> RunManifest:
        raw: dict[str, Any] = json.loads(data)
        return cls(
            job_name=str(raw.get("job_name", "")),
            run_id=str(raw.get("run_id", "")),
            user=str(raw.get("user", "")),
            outputs=tuple(str(p) for p in raw.get("outputs") or ()),
            pull=tuple(str(n) for n in raw.get("pull") or ()),
            output_dir=str(raw.get("output_dir") or "."),
            source_hash=str(raw.get("source_hash", "")),
            version=int(raw.get("version", VERSION)),
        )


def manifest_key(run_prefix: str) -> str:
    return f"{run_prefix.rstrip('/')}/{MANIFEST_NAME}"


def write_manifest(clients: AwsClients, bucket: str, run_prefix: str,
                   manifest: RunManifest) -> None:
    with aws_errors("PutObject (run manifest)", StagingError):
        clients.s3.put_object(Bucket=bucket, Key=manifest_key(run_prefix),
                              Body=manifest.to_json(), ContentType="application/json")


def read_manifest(clients: AwsClients, bucket: str, run_prefix: str) -> RunManifest | None:
    """The run's manifest, or None when the run prefix is gone (collected without --keep)."""
    try:
        with aws_errors("GetObject (run manifest)", StagingError):
            body = clients.s3.get_object(Bucket=bucket,
                                         Key=manifest_key(run_prefix))["Body"].read()
    except StagingError as error:
        if error.code in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    return RunManifest.from_json(body)

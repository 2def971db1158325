"""``--dry-run``: the exact requests a run would make, with nothing uploaded or submitted."""

from __future__ import annotations

import json
import re
from typing import Any

import botocore.session
from botocore.validate import ParamValidator

from batchmagic.jobdef import spec
from batchmagic.jobdef.describe import container_graph
from batchmagic.run.prepare import PreparedRun
from batchmagic.run.submit import submission

_SECRET_NAME = re.compile(r"(SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY)",
                          re.IGNORECASE)
MASK = "****"


def mask_secrets(payload: Any) -> Any:
    """A copy with the values of secret-looking environment variables replaced by ****."""
    if isinstance(payload, list):
        return [mask_secrets(item) for item in payload]
    if not isinstance(payload, dict):
        return payload
    if set(payload) == {"name", "value"} and _SECRET_NAME.search(str(payload["name"])):
        return {"name": payload["name"], "value": MASK}
    return {key: mask_secrets(value) for key, value in payload.items()}


def validate(operation: str, payload: dict[str, Any]) -> None:
    """Check a payload against botocore's Batch model, exactly as a real call would."""
    model = botocore.session.get_session().get_service_model("batch")
    shape = model.operation_model(operation).input_shape
    report = ParamValidator().validate(payload, shape)
    if report.has_errors():
        raise ValueError(report.generate_report())


def dry_run_report(prepared: PreparedRun) -> str:
    settings = prepared.settings
    # Placeholders stay within what AWS accepts in tags and S3 URIs, so the limits check too.
    bucket = settings.bucket or ("EMULATOR-BUCKET" if settings.local else "YOUR-BUCKET")
    queue = settings.queue or (
        f"{settings.compute_environment}-batchmagic" if settings.compute_environment
        else "<the queue batchmagic setup creates>"
    )
    prepared = prepared.with_settings(settings.with_values(bucket=bucket))
    definition_payload = spec.job_definition_payload(prepared.job_spec)
    submit = submission(prepared, queue, definition_payload["jobDefinitionName"])
    validate("RegisterJobDefinition", definition_payload)
    validate("SubmitJob", submit)
    location = prepared.location
    keys = [location.in_prefix + key for _, key in prepared.input_files]
    keys += [location.in_prefix + key for key in sorted(prepared.blobs)]
    sections = [
        "Dry run: nothing was uploaded or submitted. Both requests validate against botocore's "
        "Batch model.",
        "== container graph ==\n" + container_graph(prepared.job_spec),
        "== RegisterJobDefinition (registered once, reused while unchanged) ==\n"
        + json.dumps(mask_secrets(definition_payload), indent=2),
        "== SubmitJob ==\n" + json.dumps(mask_secrets(submit), indent=2),
        "== packages installed in the job (--pip, --requirements, --deps auto) ==\n"
        + (prepared.packages.describe() if prepared.packages else "  (none)"),
        f"== S3 uploads to s3://{bucket}/ ==\n" + "\n".join(keys),
        f"== outputs come back from {location.out_uri} into {prepared.output_dir} ==",
    ]
    return "\n\n".join(sections)

"""A job spec described for people: the container graph that ``--dry-run`` prints."""

from __future__ import annotations

from batchmagic.jobdef.layout import MAIN, STAGE_IN, STAGE_OUT, VOLUME_NAME, WORK_DIR
from batchmagic.jobdef.spec import JobSpec


def container_graph(spec: JobSpec) -> str:
    """A short text of the three containers, their images, sizes and dependsOn (--dry-run)."""
    sizes = spec.sizes
    rows = [
        (STAGE_IN, spec.sidecar_image, "-", "copy inputs s3 -> /work"),
        (MAIN, spec.image, f"{STAGE_IN} SUCCESS", "run the cell"),
        (STAGE_OUT, spec.sidecar_image, f"{MAIN} COMPLETE", "copy results /work -> s3 (essential)"),
    ]
    lines = [
        f"AWS Batch job on {spec.platform.upper()} ({spec.region}): "
        f"{_fmt(spec.cpu)} vCPU, {spec.memory} MiB in total"
    ]
    for name, image, depends, role in rows:
        vcpu, memory = sizes[name]
        lines.append(
            f"  {name:<9} {image}\n"
            f"  {'':<9} {vcpu} vCPU, {memory} MiB; after: {depends}; {role}"
        )
    lines.append(f"  shared volume '{VOLUME_NAME}' mounted at {WORK_DIR} in all three")
    return "\n".join(lines)


def _fmt(cpu: float) -> str:
    return f"{cpu:g}"

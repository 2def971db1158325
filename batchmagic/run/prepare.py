"""Everything a run needs, checked before a single byte is uploaded or a job submitted."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from batchmagic.aws.staging import RunLocation, new_run_id
from batchmagic.errors import ConfigurationError
from batchmagic.jobdef import layout, names, spec
from batchmagic.jobdef.extras import parse_secrets
from batchmagic.run import template
from batchmagic.run.envs import JobPackages, PackageRequest, plan_packages
from batchmagic.run.inputs import plan_inputs
from batchmagic.runtime import runtime_files
from batchmagic.settings import Settings


@dataclass(frozen=True)
class RunOptions:
    """Per-run choices from the magic line that are not settings."""

    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    push: tuple[str, ...] = ()
    pull: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    result: str | None = None
    name: str | None = None
    wait: bool = True
    dry_run: bool = False
    packages: PackageRequest = field(default_factory=PackageRequest)


@dataclass(frozen=True)
class PreparedRun:
    """A validated run: rendered cell, files to stage, environment, container spec.

    The job spec (validated) and the run's S3 location are built once from the settings, here
    and again only when the settings change (:meth:`with_settings`); everything after reads them.
    """

    settings: Settings
    options: RunOptions
    source: str
    source_hash: str
    job_name: str
    run_id: str
    input_files: list[tuple[Path, str]]
    blobs: dict[str, bytes]
    environment: dict[str, str]
    output_dir: Path
    job_spec: spec.JobSpec
    location: RunLocation
    tags: dict[str, str] = field(default_factory=dict)
    packages: JobPackages | None = None

    @property
    def region(self) -> str:
        return self.job_spec.region

    @property
    def run_prefix(self) -> str:
        return self.location.run_prefix

    def with_settings(self, settings: Settings) -> PreparedRun:
        """This run with other settings (the target's, or a placeholder bucket): the job spec
        and the S3 location are built from them."""
        region = settings.region or self.region
        return replace(self, settings=settings,
                       job_spec=spec.JobSpec.from_settings(settings, region,
                                                           self.job_spec.secrets),
                       location=_location(settings, self.run_id))


def _location(settings: Settings, run_id: str) -> RunLocation:
    return RunLocation.new(settings.bucket or "", settings.prefix, settings.user, run_id)


def new_job_name(base: str | None) -> tuple[str, str]:
    """A Batch-valid, sortable, unique job name and the run id inside it."""
    run_id = new_run_id()
    return f"{names.sanitize_job_name(base or 'cell')[:80]}-{run_id}", run_id


def _check_identifiers(names: tuple[str, ...], flag: str) -> None:
    for name in names:
        if not name.isidentifier():
            raise ConfigurationError(f"{flag} {name!r}: not a valid Python variable name")


def pickle_pushed(names: tuple[str, ...], namespace: Mapping[str, Any]) -> bytes | None:
    """Pickle the pushed kernel variables, or explain which one cannot be sent and why."""
    _check_identifiers(names, "--push")
    if not names:
        return None
    missing = [n for n in names if n not in namespace]
    if missing:
        raise ConfigurationError(
            f"--push: {', '.join(missing)} not defined in the kernel; define it or drop it"
        )
    values = {}
    for name in names:
        try:
            pickle.dumps(namespace[name], protocol=4)
        except Exception as error:  # pickling raises many types: report any of them
            raise ConfigurationError(
                f"--push {name}: cannot be pickled ({type(error).__name__}: {error}); "
                "push plain data (numbers, strings, lists, dicts, arrays, DataFrames) instead"
            ) from None
        values[name] = namespace[name]
    return pickle.dumps(values, protocol=4)


def check_output_patterns(patterns: tuple[str, ...]) -> None:
    """Output patterns are relative to the work dir and may not climb out of it."""
    for pattern in patterns:
        path = PurePosixPath(pattern)
        if not pattern or path.is_absolute() or ".." in path.parts:
            raise ConfigurationError(
                f"--outputs {pattern!r}: use a pattern relative to the work dir, e.g. '*.csv'"
            )
        if path.parts and path.parts[0] == layout.INTERNAL_DIR:
            raise ConfigurationError(f"--outputs {pattern!r}: {layout.INTERNAL_DIR}/ is reserved")


def check_output_dir(directory: Path) -> Path:
    """The output directory, created now (before anything is uploaded) and writable."""
    resolved = directory.expanduser().resolve()
    if resolved.exists() and not resolved.is_dir():
        raise ConfigurationError(f"--output-dir {directory}: exists and is not a directory")
    try:
        resolved.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigurationError(f"--output-dir {directory}: cannot be created "
                                 f"({error.strerror or error})") from None
    if not os.access(resolved, os.W_OK | os.X_OK):
        raise ConfigurationError(f"--output-dir {directory}: not writable")
    return resolved


def template_context(job_name: str, run_id: str,
                     environment: Mapping[str, str]) -> dict[str, Any]:
    """The names a cell template sees (README: "Inside the cell")."""
    return {
        "workingDir": layout.WORK_DIR,
        "outputDir": f"{layout.WORK_DIR}/{layout.OUTPUT_SUBDIR}",
        "jobName": job_name,
        "runId": run_id,
        "env": environment,
    }


def prepare(
    source: str,
    options: RunOptions,
    settings: Settings,
    *,
    namespace: Mapping[str, Any],
    cwd: Path,
    region: str,
    extra_context: Mapping[str, Any] | None = None,
) -> PreparedRun:
    """Validate options, files, variables and the template; build what will be staged.

    ``extra_context`` adds template names (a --map run renders with its first item).
    """
    if settings.on_shutdown not in ("leave", "terminate"):
        raise ConfigurationError("on_shutdown must be 'leave' or 'terminate'")
    environment = names.validate_env(options.env)
    secrets = parse_secrets(options.secrets, tuple(environment))
    job_spec = spec.JobSpec.from_settings(settings, region, secrets)  # size, image, timeout...
    _check_identifiers(options.pull, "--pull")
    if options.result is not None:
        _check_identifiers((options.result,), "--result")
    check_output_patterns(options.outputs)
    output_dir = check_output_dir(cwd / settings.output_dir)
    job_name, run_id = new_job_name(options.name)
    rendered = source
    if settings.template:
        context = {**template_context(job_name, run_id, environment), **(extra_context or {})}
        rendered = template.render_cell(source, context)
    template.check_python(rendered)
    input_files = plan_inputs(options.inputs, cwd)
    blobs = {f"{layout.INTERNAL_DIR}/{name}": data for name, data in runtime_files().items()}
    blobs[layout.CELL_FILE] = rendered.encode()
    pushed = pickle_pushed(options.push, namespace)
    if pushed is not None:
        blobs[layout.PUSH_FILE] = pushed
    packages, env_spec = plan_packages(
        rendered, dataclasses.replace(options.packages, deps=settings.deps), image=settings.image,
        cwd=cwd, pushed={name: namespace[name] for name in options.push}, pulled=options.pull,
        input_keys=[key for _, key in input_files])
    if env_spec is not None:
        blobs[layout.ENV_SPEC_FILE] = env_spec
    return PreparedRun(
        settings=settings,
        options=options,
        source=rendered,
        source_hash=hashlib.sha256(source.encode()).hexdigest()[:16],
        job_name=job_name,
        run_id=run_id,
        input_files=input_files,
        blobs=blobs,
        environment=environment,
        output_dir=output_dir,
        job_spec=job_spec,
        location=_location(settings, run_id),
        packages=packages,
    )

"""How a container becomes a host process: command, environment and volume paths.

There is no container engine: each container's command runs on this host, in its own process
group, with these translations.

Images
    No image is pulled. Images whose entrypoint is implied get it back: the AWS CLI images
    (``public.ecr.aws/aws-cli/aws-cli`` and ``amazon/aws-cli``, any tag) run ``aws`` + command.
    ``aws`` is the awscli installed beside the emulator's Python (same bin directory), else the
    one on PATH; ``python``/``python3``/``python3.X`` are the emulator's own interpreter,
    except in the official Python images, whose bare interpreter is emulated (``images.py``).
    Any other executable is looked up on PATH; when it is missing the container exits with 127.

Volumes
    Every task volume is a fresh directory under the task's scratch root
    (``<scratch>/volumes/<volume name>``), deleted when the attempt ends. A mount point's
    ``containerPath`` (``/data``, ``/work`` ...) cannot exist on the host, so it is rewritten to
    that directory wherever it appears as a path prefix on a path boundary in the command's
    arguments and in environment values: ``/work``, ``/work/in/x``, ``--out=/work/y`` are
    rewritten, ``/workspace`` and ``s3://bucket/work`` are not. Longer container paths win.
    Paths that a program builds at run time or reads from files are not rewritten; programs
    can use ``BATCHMAGIC_VOLUME_MAP`` (JSON: container path -> host directory) for those.
    The process starts in the task's scratch root.

Environment
    Only PATH, LANG, LC_* and TZ of the host; HOME is a fresh directory of the task (as
    ``/root`` in a fresh container), so the user's ``~/.aws``, ``~/.ssh`` and ``~/.netrc`` are
    out of reach; then the emulator's endpoint, region and fixed fake credentials, then the
    job's environment, then the variables AWS Batch sets, then the container's marker
    (``reaper.py``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

from batchmagic.emulator.images import image_environment, image_repository, python_for

# Images whose entrypoint is `aws` (the command holds only the CLI's arguments).
_AWS_CLI_IMAGES = ("public.ecr.aws/aws-cli/aws-cli", "amazon/aws-cli", "aws-cli/aws-cli")
_PYTHON_NAMES = re.compile(r"^python(3(\.\d+)?)?$")
# A key of their own tells the jobs' requests apart (faults.py spares them unless asked).
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "batchmagic-job", "AWS_SECRET_ACCESS_KEY": "batchmagic"}


def implied_entrypoint(image: str) -> list[str]:
    repo = image_repository(image)
    return ["aws"] if any(repo.endswith(known) for known in _AWS_CLI_IMAGES) else []


def resolve_executable(name: str, path: str | None, image: str = "") -> str | None:
    """The host executable for argv[0], or None when there is none."""
    if _PYTHON_NAMES.match(name):
        return python_for(image)
    if name == "aws":
        beside = Path(sys.executable).parent / "aws"
        if beside.exists():
            return str(beside)
    if "/" in name:
        return name if os.access(name, os.X_OK) else None
    return shutil.which(name, path=path)


def path_rewriter(mapping: dict[str, str]) -> re.Pattern[str] | None:
    """A pattern matching any container path of ``mapping`` on path boundaries."""
    if not mapping:
        return None
    paths = sorted(mapping, key=len, reverse=True)
    alternatives = "|".join(re.escape(p.rstrip("/") or "/") for p in paths)
    return re.compile(rf"(?<![\w.\-/:])({alternatives})(?![\w.\-])")


_REST_OF_PATH = re.compile(r"[^\s\"',;]*")


def rewrite(value: str, mapping: dict[str, str], pattern: re.Pattern[str] | None) -> str:
    """Replace container paths by their host directories in ``value``.

    A longer path that already exists on the host as written (``/work/venv/bin/python`` with a
    ``/work`` mount) is a host path, not a volume path, and is left alone.
    """
    if pattern is None:
        return value
    stripped = {k.rstrip("/") or "/": v for k, v in mapping.items()}

    def replace(match: re.Match[str]) -> str:
        rest = _REST_OF_PATH.match(value, match.end())
        tail = rest.group(0) if rest else ""
        if tail.startswith("/") and len(tail) > 1 and os.path.lexists(match.group(1) + tail):
            return match.group(0)
        return stripped[match.group(1)]

    return pattern.sub(replace, value)


# All a container takes from the host's environment: where programs are and how text is
# encoded. Nothing that describes the user or the kernel that started the emulator (tokens,
# proxies, PYTHONPATH, JUPYTER_*, ...) reaches a job.
HOST_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")


def container_environment(*, endpoint_url: str, region: str, job_env: dict[str, str],
                          batch_env: dict[str, str], volume_map: dict[str, str],
                          home: str | None = None, image: str = "") -> dict[str, str]:
    """A few host variables (PATH first the bare interpreter's for an emulated Python image), a
    private HOME, the emulator's endpoint and credentials, the job's env, Batch's env."""
    env = {k: os.environ[k] for k in HOST_VARIABLES if k in os.environ}
    if home is not None:  # ~/.aws, ~/.ssh, ~/.netrc of the user are out of reach
        env.update({"HOME": home, "USER": "root", "LOGNAME": "root"})
    env = image_environment(image, env)
    env.update({"AWS_ENDPOINT_URL": endpoint_url, "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region, "AWS_EC2_METADATA_DISABLED": "true",
                **FAKE_CREDENTIALS,
                "BATCHMAGIC_VOLUME_MAP": json.dumps(volume_map)})
    pattern = path_rewriter(volume_map)
    env.update({k: rewrite(v, volume_map, pattern) for k, v in job_env.items()})
    env.update(batch_env)
    return env


def container_argv(image: str, command: list[str], volume_map: dict[str, str],
                   env: dict[str, str]) -> tuple[list[str] | None, str]:
    """(argv, "") ready for Popen, or (None, reason) when nothing can run."""
    pattern = path_rewriter(volume_map)
    argv = implied_entrypoint(image) + [rewrite(a, volume_map, pattern) for a in command]
    if not argv:
        return None, f"CannotStartContainerError: no command given and image {image} has no " \
                     "known entrypoint"
    executable = resolve_executable(argv[0], env.get("PATH"), image)
    if executable is None:
        return None, (f"CannotStartContainerError: exec: \"{argv[0]}\": executable file not "
                      "found in $PATH")
    return [executable, *argv[1:]], ""

"""The job's setup phase, before the cell runs: Python check, --setup commands, packages.

Shipped next to ``bootstrap.py``; standard library only, Python 3.8+ syntax. The kernel stages
``.batchmagic/env.json``::

    {"key": "<sha256>", "requirements": ["cowsay==6.1"], "setup": ["apt-get ..."],
     "python": "3.11", "needs_same_python": true, "restore_sha256": "<sha256 or null>"}

and, when the environment is cached in the bucket, its archive as ``.batchmagic/env.tar.gz``
(copied there server-side before the job starts, downloaded by stage-in). Then:

1. with pickled ``--push``/``--pull`` values the job's Python must be the kernel's major.minor;
2. each ``--setup`` command runs in a shell (``sh -c``), its output streamed;
3. the archive, when staged and its checksum matches, is unpacked into a fresh directory;
   otherwise the requirements are installed there with ``uv pip install --target`` (uv from
   PATH, else installed on the fly with pip), or ``pip install --target`` when uv cannot be
   had. A built environment is packed into ``.batchmagic/env/build.tar.gz`` with its lock
   file ``.batchmagic/env/lock.json``, which stage-out uploads and the kernel files under
   ``PREFIX/_envs/<key>.tar.gz`` for the next run;
4. the directory goes on ``sys.path`` (after the work dir), ``PYTHONPATH`` and ``PATH``.

Every line printed here starts with ``[setup]``: the kernel shows them as the setup phase.
A failure is one ``SetupError`` line naming what failed, and the cell does not run.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import shutil
import site
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Any

SPEC_FILE = "env.json"
ARCHIVE_FILE = "env.tar.gz"
BUILD_DIR = "env"
BUILD_ARCHIVE = "build.tar.gz"
LOCK_FILE = "lock.json"
PREFIX = "[setup] "
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class SetupError(Exception):
    """The job's setup failed; the cell does not run."""


def say(text: str) -> None:
    sys.stdout.write(PREFIX + text + "\n")
    sys.stdout.flush()


def python_version() -> str:
    return "{}.{}".format(*sys.version_info[:2])


# Once per process: a --map child prepares a run per item, and sets the job up only once.
_done: dict[str, Any] = {}


def setup_job(internal: str) -> str | None:
    """Run the setup phase described by ``internal/env.json`` (once per process); the
    environment's directory, if one was made. Raises SetupError."""
    if internal not in _done:
        try:
            _done[internal] = _setup_job(internal)
        except SetupError as error:
            _done[internal] = error
    outcome = _done[internal]
    if isinstance(outcome, SetupError):
        raise outcome
    return outcome  # type: ignore[no-any-return]


def _setup_job(internal: str) -> str | None:
    path = os.path.join(internal, SPEC_FILE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        spec: dict[str, Any] = json.load(handle)
    check_python(spec)
    for command in spec.get("setup") or []:
        run_setup_command(command)
    requirements = list(spec.get("requirements") or [])
    if not requirements:
        return None
    target = tempfile.mkdtemp(prefix="batchmagic-env-")
    atexit.register(shutil.rmtree, target, True)
    archive = os.path.join(internal, ARCHIVE_FILE)
    expected = spec.get("restore_sha256")
    if not (expected and os.path.exists(archive) and restore(archive, expected, target)):
        build(requirements, target, internal, spec)
    activate(target)
    return target


def check_python(spec: dict[str, Any]) -> None:
    wanted = spec.get("python")
    if spec.get("needs_same_python") and wanted and wanted != python_version():
        raise SetupError(
            f"this job runs Python {python_version()} but the kernel runs Python {wanted}: "
            "pickled --push/--pull values need the same major.minor (use --image "
            f"python:{wanted}-slim, or the default image)")


# System package managers: on the local emulator the "container" is this machine.
_SYSTEM_PACKAGES = re.compile(r"(^|[;&|(]\s*|sudo\s+)(apt-get|apt|apk|yum|dnf|microdnf)\s")


def run_setup_command(command: str) -> None:
    # The emulator says where it mapped the volumes; AWS never sets this.
    if "BATCHMAGIC_VOLUME_MAP" in os.environ and _SYSTEM_PACKAGES.search(command):
        say(f"skipped on the local emulator, which would change this machine, not a "
            f"container: $ {command}")
        return
    say("$ " + command)
    started = time.monotonic()
    code, output = _stream(["sh", "-c", command])
    if code != 0:
        last = output[-1].strip() if output else "no output"
        raise SetupError(f"--setup {command!r} exited {code}: {last}")
    say(f"done in {time.monotonic() - started:.1f} s")


def _stream(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """Run ``argv``, printing each output line as a setup line; (exit code, lines)."""
    try:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env)
    except OSError as error:
        return 127, [str(error)]
    lines: list[str] = []
    assert process.stdout is not None
    for raw in iter(process.stdout.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            lines.append(line)
            say("  " + line)
    process.stdout.close()
    return process.wait(), lines


# --- restore -------------------------------------------------------------------------------


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _system_tar(arguments: list[str]) -> bool:
    """Run the system's ``tar`` (GNU or BSD, both know -c/-x/-z/-C); False when there is none or
    it failed (then tarfile does the work)."""
    tar = shutil.which("tar")
    if tar is None:
        return False
    try:
        done = subprocess.run([tar, *arguments], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError:
        return False
    return done.returncode == 0


def restore(archive: str, expected_sha256: str, target: str) -> bool:
    """Unpack the cached environment; False (and a line saying why) when it is damaged."""
    started = time.monotonic()
    size = os.path.getsize(archive)
    if file_sha256(archive) != expected_sha256:
        say("the cached environment does not match its lock file (a concurrent rebuild?); "
            "building it again")
        return False
    # The system's tar (Debian's, in the official images) unpacks thousands of small files
    # several times faster than tarfile; the checksum above already vouches for the archive.
    if not _system_tar(["-xzf", archive, "-C", target]):
        with tarfile.open(archive, "r:gz") as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(target, filter="data")
            else:  # Python < 3.11.4: our own archive, written by our own job
                tar.extractall(target)
    os.remove(archive)  # the work dir is the user's: keep only what they staged
    say(f"environment restored from the cache ({size / 1e6:.1f} MB) in "
        f"{time.monotonic() - started:.1f} s")
    return True


# --- build ---------------------------------------------------------------------------------


def requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement)
    return match.group(1) if match else requirement


_PLAIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:==([A-Za-z0-9.+!_-]+))?$")


def in_image(requirement: str) -> bool:
    """Does the image already have this (a bare name, or an exact ``name==version`` pin)?"""
    match = _PLAIN.match(requirement.strip())
    if match is None:
        return False
    try:
        from importlib import metadata

        version = metadata.version(match.group(1))
    except Exception:  # not installed, or no importlib.metadata
        return False
    return match.group(2) is None or match.group(2) == version


def build(requirements: list[str], target: str, internal: str, spec: dict[str, Any]) -> None:
    started = time.monotonic()
    present = [r for r in requirements if in_image(r)]
    if present:
        say("already in the image: " + " ".join(present))
        requirements = [r for r in requirements if r not in present]
        if not requirements:
            return
    env = dict(os.environ)
    # uv does not read pip's configuration: give it pip's index settings when only those exist.
    for pip_name, uv_name in (("PIP_INDEX_URL", "UV_INDEX_URL"),
                              ("PIP_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL")):
        if pip_name in env and uv_name not in env:
            env[uv_name] = env[pip_name]
    plural = "" if len(requirements) == 1 else "s"
    commands = installer_commands(target)
    for installer, argv in commands:
        say(f"installing {len(requirements)} package{plural} with {installer}: "
            + " ".join(requirements))
        code, output = _stream(argv + requirements, env)
        if code == 0:
            break
        if installer == commands[-1][0]:
            raise SetupError(install_failure(requirements, output))
        # uv has its own network and TLS settings: what it cannot fetch, pip may.
        say(f"{installer} failed ({install_failure(requirements, output)}); trying pip")
        shutil.rmtree(target, ignore_errors=True)
        os.makedirs(target)
    say(f"installed in {time.monotonic() - started:.1f} s")
    pack(target, internal, spec, installer)


def installer_commands(target: str) -> list[tuple[str, list[str]]]:
    """uv (on PATH, or installed now with pip) then pip as a fallback; pip alone without uv."""
    pip = ("pip", [sys.executable, "-m", "pip", "install", "--target", target,
                   "--disable-pip-version-check", "--no-input", "--progress-bar", "off"])
    uv = shutil.which("uv")
    if uv is None:
        tools = tempfile.mkdtemp(prefix="batchmagic-uv-")
        atexit.register(shutil.rmtree, tools, True)
        say("uv is not in the image: installing it with pip")
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-input", "--target", tools, "uv"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        candidate = os.path.join(tools, "bin", "uv")
        if done.returncode == 0 and os.path.exists(candidate):
            uv = candidate
        else:
            say("could not install uv; using pip")
    if uv is None:
        return [pip]
    return [("uv", [uv, "pip", "install", "--target", target, "--python", sys.executable,
                    "--no-progress"]), pip]


def install_failure(requirements: list[str], output: list[str]) -> str:
    """One line: which package failed and the installer's own words."""
    errors = [line.strip() for line in output
              if line.lstrip().lower().startswith(("error", "\u00d7", "\u2570", "because"))]
    message = " ".join(errors[-2:]) if errors else (output[-1].strip() if output else "failed")
    text = message.lower()
    named = [r for r in requirements if requirement_name(r).lower() in text]
    which = ", ".join(named or requirements)
    return f"could not install {which}: {message}"


def installed_distributions(target: str) -> list[str]:
    found = []
    for entry in sorted(os.listdir(target)):
        if entry.endswith(".dist-info"):
            name, _, version = entry[: -len(".dist-info")].partition("-")
            found.append(f"{name}=={version}")
    return found


def pack(target: str, internal: str, spec: dict[str, Any], installer: str) -> None:
    """Archive the environment and its lock file for stage-out (then the kernel's cache)."""
    started = time.monotonic()
    out_dir = os.path.join(internal, BUILD_DIR)
    os.makedirs(out_dir, exist_ok=True)
    archive = os.path.join(out_dir, BUILD_ARCHIVE)
    partial = archive + ".partial"
    entries = sorted(os.listdir(target))
    if not _system_tar(["-czf", partial, "-C", target, "--", *entries]):
        with tarfile.open(partial, "w:gz", compresslevel=3) as tar:
            for entry in entries:
                tar.add(os.path.join(target, entry), arcname=entry)
    os.replace(partial, archive)
    size = os.path.getsize(archive)
    lock = {
        "key": spec.get("key"),
        "requirements": spec.get("requirements"),
        "installed": installed_distributions(target),
        "python": "{}.{}.{}".format(*sys.version_info[:3]),
        "platform": f"{sys.platform}-{os.uname().machine}",
        "installer": installer,
        "sha256": file_sha256(archive),
        "size": size,
        "built_at": time.time(),
    }
    with open(os.path.join(out_dir, LOCK_FILE), "w", encoding="utf-8") as handle:
        json.dump(lock, handle, indent=2)
    say(f"environment packed for the cache ({size / 1e6:.1f} MB) in "
        f"{time.monotonic() - started:.1f} s")


def activate(target: str) -> None:
    """Put the environment after the work dir on sys.path, and on PYTHONPATH/PATH for the
    processes the cell starts."""
    position = 1 if sys.path else 0
    sys.path.insert(position, target)
    site.addsitedir(target)  # .pth files (namespace packages); the directory is already there
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [target] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    bin_dir = os.path.join(target, "bin")
    if os.path.isdir(bin_dir):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", os.defpath)


def missing_module_hint(error: BaseException, pypi_names: dict[str, str] | None = None) -> str:
    """For an import the job cannot satisfy: how to install it in the job (``pypi_names``: the
    packages of imports named otherwise, e.g. sklearn -> scikit-learn)."""
    if not isinstance(error, ModuleNotFoundError) or not error.name:
        return ""
    top = (pypi_names or {}).get(error.name.split(".")[0], error.name.split(".")[0])
    return (f" (the job has only its image's packages and what it installs: add --pip {top}, "
            "or the name of the package that provides it)")

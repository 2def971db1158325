"""The official Python images, emulated: ``main`` gets a bare interpreter, as on AWS.

On AWS, ``python:3.11-slim`` has the standard library, pip and nothing else: a cell that
imports pandas fails there unless the job installs it. The emulator runs containers as host
processes, so without care its ``python`` would be the emulator's own interpreter with every
package of the emulator's environment, and a cell that works locally would fail on AWS.

For the official Python images (``python``, ``library/python``, ``docker.io/library/python``,
``public.ecr.aws/docker/library/python``; any tag) ``python``/``python3``/``pip`` are those of a
virtual environment made from the host's base interpreter without its site-packages, created
once per interpreter under the cache directory and reused by every job. The host's
``PYTHONPATH``, ``PYTHONHOME`` and ``VIRTUAL_ENV`` do not reach such a container. The
emulator's interpreter version stands in for the tag's (a ``python:3.12`` image runs on the
host's Python). What a job installs goes where the job puts it (batchmagic's own environments
go into a per-run directory), never into the shared virtual environment.

Other images keep the emulator's own interpreter (``python`` with the emulator's packages).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from batchmagic.emulator.bundledpip import NICE, install_bundled_pip

_OFFICIAL_PYTHON = re.compile(
    r"^(?:(?:docker\.io/|registry-1\.docker\.io/|public\.ecr\.aws/docker/)?library/)?python$"
)
# Host variables that would hand the host's packages to the emulated bare interpreter.
_HOST_PYTHON_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONUSERBASE",
                          "PYTHONSTARTUP", "__PYVENV_LAUNCHER__")
_COMPLETE_MARK = ".batchmagic-complete"


def image_repository(image: str) -> str:
    """The image name without tag or digest: ``python:3.11-slim`` -> ``python``."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


def is_emulated_python(image: str) -> bool:
    """Is ``image`` one of the official Python images, whose bare interpreter is emulated?"""
    return bool(_OFFICIAL_PYTHON.match(image_repository(image)))


def cache_dir() -> Path:
    """Where the emulator keeps what it builds once: $BATCHMAGIC_CACHE_DIR or XDG cache."""
    explicit = os.environ.get("BATCHMAGIC_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "batchmagic"


def _venv_dir() -> Path:
    """One virtual environment per host interpreter (path and version)."""
    tag = hashlib.sha256(f"{sys.base_prefix}|{sys.version}".encode()).hexdigest()[:10]
    major, minor = sys.version_info[:2]
    return cache_dir() / "emulator" / f"python{major}.{minor}-{tag}"


def bare_python_home() -> Path:
    """The emulated image's interpreter environment, created on first use (a few tenths of a
    second: pip and setuptools come from the wheels Python bundles, no network; see
    ``bundledpip``)."""
    home = _venv_dir()
    if (home / _COMPLETE_MARK).exists():
        return home
    home.parent.mkdir(parents=True, exist_ok=True)
    # Several emulators (or test workers) may start at once: one creates, the others wait.
    with open(f"{home}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (home / _COMPLETE_MARK).exists():
                _create(home)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return home


def _create(home: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)
    clean = {k: v for k, v in os.environ.items() if k not in _HOST_PYTHON_VARIABLES}
    # The base interpreter, not this virtual environment's: nothing of ours may show through.
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-c", f"import os, sys, venv; os.nice({NICE}); venv.main(sys.argv[1:])",
                    "--without-pip", str(home)], check=True, env=clean,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if not install_bundled_pip(home, clean):
        python = home / "bin" / "python"
        subprocess.run([str(python), "-m", "ensurepip", "--default-pip"], check=True, env=clean,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    (home / _COMPLETE_MARK).write_text(sys.version)


def bare_python() -> str:
    return str(bare_python_home() / "bin" / "python")


def image_environment(image: str, env: dict[str, str]) -> dict[str, str]:
    """The container environment of ``image``: for an emulated official Python image, without
    the host's Python variables and with the bare environment's ``bin`` first on PATH (``pip``
    and ``python`` are the image's, as in the real image)."""
    if not is_emulated_python(image):
        return env
    emulated = {k: v for k, v in env.items() if k not in _HOST_PYTHON_VARIABLES}
    bin_dir = str(bare_python_home() / "bin")
    emulated["PATH"] = os.pathsep.join([bin_dir, *[
        p for p in env.get("PATH", os.defpath).split(os.pathsep) if p and p != bin_dir]])
    # The job's own PYTHONPATH (set through its environment) is the job's business: keep it.
    return emulated


def python_for(image: str) -> str:
    """The interpreter that runs ``python`` in a container of ``image``."""
    return bare_python() if is_emulated_python(image) else sys.executable


def bare_python_ready() -> None:
    """Create the emulated interpreter now (the emulator does it at start, off the job path)."""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        bare_python_home()

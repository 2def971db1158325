"""pip and setuptools for the emulated image's interpreter, unpacked from the wheels Python bundles.

``python -m ensurepip`` installs these very wheels by running pip on them, which compiles every
module: about 4 s of CPU, and the first job of a new user waited for it (the environment is made
once per user cache, when the emulator starts). A wheel is a zip archive laid out the way
site-packages wants it (PEP 427), so unpacking the bundled wheels and writing their console
scripts makes the same environment in a few tenths of a second; modules are compiled when first
imported, as with ``pip install --no-compile``.

Where Python keeps the wheels: ``ensurepip/_bundled`` in the standard library, or a distribution's
``WHEEL_PKG_DIR`` (Fedora, Debian: ``/usr/share/python-wheels``), which ensurepip prefers when it
holds both. Anything else (no wheel found, a wheel with a ``.data`` directory to place) returns
False, and the caller runs ensurepip instead.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

PACKAGES = ("setuptools", "pip")
# Made while a new user's first cell sets up and submits its job, which need the CPU first: the
# environment is only needed when that job's main container starts, a second or so later.
NICE = 5


def bundled_wheels() -> dict[str, Path] | None:
    """The wheel of each of ``PACKAGES`` that ensurepip would install, or None."""
    places: list[Path] = []
    system_dir = sysconfig.get_config_var("WHEEL_PKG_DIR")
    if system_dir:
        places.append(Path(system_dir))
    places.append(Path(sysconfig.get_path("stdlib")) / "ensurepip" / "_bundled")
    for place in places:
        found = {name: sorted(place.glob(f"{name}-*-py3-none-any.whl")) for name in PACKAGES}
        if all(found.values()):
            return {name: wheels[-1] for name, wheels in found.items()}
    return None


_UNPACK = ("import os, sys, zipfile\n"
           f"os.nice({NICE})\n"
           "for wheel in sys.argv[2:]:\n"
           "    with zipfile.ZipFile(wheel) as archive:\n"
           "        archive.extractall(sys.argv[1])\n")


def install_bundled_pip(home: Path, env: dict[str, str]) -> bool:
    """Unpack pip and setuptools into the virtual environment ``home`` (its interpreter runs
    with ``env``); False when the wheels are not there or not plain (then nothing was
    written)."""
    wheels = bundled_wheels()
    if wheels is None:
        return False
    archives = [zipfile.ZipFile(wheel) for wheel in wheels.values()]
    try:
        if any(_needs_placing(archive) for archive in archives):
            return False
        for archive in archives:
            _write_console_scripts(archive, home / "bin")
    finally:
        for archive in archives:
            archive.close()
    # Unpacked by the new environment's own interpreter, isolated (-I) and at a lower priority
    # (NICE): a thousand small files written in another process, so the emulator (whose threads
    # answer a new user's setup meanwhile) neither waits for its GIL nor keeps the buffers.
    major, minor = sys.version_info[:2]
    site_packages = home / "lib" / f"python{major}.{minor}" / "site-packages"
    subprocess.run([str(home / "bin" / "python"), "-I", "-c", _UNPACK, str(site_packages),
                    *map(str, wheels.values())], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return True


def _needs_placing(archive: zipfile.ZipFile) -> bool:
    """A ``NAME.data/`` directory holds files for elsewhere than site-packages (scripts,
    headers): unpacking it would not install them."""
    return any(name.split("/", 1)[0].endswith(".data") for name in archive.namelist())


def _write_console_scripts(archive: zipfile.ZipFile, bin_dir: Path) -> None:
    """``pip``, ``pip3``, ``pip3.X``: the scripts pip writes for ``[console_scripts]``."""
    entry_points = [name for name in archive.namelist()
                    if name.count("/") == 1 and name.endswith(".dist-info/entry_points.txt")]
    if not entry_points:
        return
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign] # names keep their case
    parser.read_string(archive.read(entry_points[0]).decode())
    if not parser.has_section("console_scripts"):
        return
    python = bin_dir / "python"
    major, minor = sys.version_info[:2]
    for name, target in parser.items("console_scripts"):
        module, _, function = target.strip().partition(":")
        # As pip does when it installs itself: the versioned script is this interpreter's
        # (the wheel names the version it was built with).
        if name.startswith(f"pip{major}."):
            name = f"pip{major}.{minor}"
        script = bin_dir / name
        script.write_text(
            f"#!{python}\n"
            "import sys\n"
            f"from {module} import {function.split('.')[0]}\n"
            "if __name__ == '__main__':\n"
            f"    sys.exit({function}())\n")
        script.chmod(0o755)

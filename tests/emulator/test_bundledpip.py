"""The emulated image's interpreter gets pip and setuptools from the wheels Python bundles,
unpacked: the same environment as ``ensurepip`` makes, without its seconds of compiling."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from batchmagic.emulator import bundledpip, images


def _run(*command: str | Path) -> str:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True,
                          check=True, timeout=120)
    return done.stdout


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BATCHMAGIC_CACHE_DIR", str(cache))
        made = images.bare_python_home()
    assert made.is_relative_to(cache)
    return made


def _tiny_wheel(directory: Path) -> Path:
    """A pure-Python wheel of one module, built by hand (no network, no build backend)."""
    wheel = directory / "tiny-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tiny.py", "ANSWER = 42\n")
        archive.writestr("tiny-1.0.dist-info/METADATA",
                         "Metadata-Version: 2.1\nName: tiny\nVersion: 1.0\n")
        archive.writestr("tiny-1.0.dist-info/WHEEL",
                         "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\n"
                         "Tag: py3-none-any\n")
        archive.writestr("tiny-1.0.dist-info/RECORD", "")
    return wheel


def test_pip_and_setuptools_are_there_and_nothing_else(home: Path) -> None:
    listed = _run(home / "bin" / "python", "-m", "pip", "list", "--format=freeze",
                  "--disable-pip-version-check")
    names = sorted(line.split("==")[0].lower() for line in listed.split())
    assert names == ["pip", "setuptools"]
    assert "setuptools" in _run(home / "bin" / "python", "-c",
                                "import setuptools; print(setuptools.__name__)")


def test_the_console_scripts_are_this_interpreters(home: Path) -> None:
    major, minor = sys.version_info[:2]
    for script in ("pip", "pip3", f"pip{major}.{minor}"):
        path = home / "bin" / script
        assert path.read_text().startswith(f"#!{home / 'bin' / 'python'}\n")
        assert f"python {major}.{minor}" in _run(path, "--version")


def test_pip_installs_into_the_environment(home: Path, tmp_path: Path) -> None:
    wheel = _tiny_wheel(tmp_path)
    _run(home / "bin" / "pip", "install", "--no-index", "--disable-pip-version-check",
         "--quiet", wheel)
    assert _run(home / "bin" / "python", "-c", "import tiny; print(tiny.ANSWER)").strip() == "42"


def test_a_wheel_with_files_for_elsewhere_is_left_to_ensurepip(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = tmp_path / "pip-99-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("pip/__init__.py", "")
        archive.writestr("pip-99.data/scripts/pip", "#!python\n")
    monkeypatch.setattr(bundledpip, "bundled_wheels", lambda: {"pip": wheel})
    target = tmp_path / "env"
    assert bundledpip.install_bundled_pip(target, {}) is False
    assert not target.exists()


def test_no_bundled_wheels_is_left_to_ensurepip(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundledpip, "bundled_wheels", lambda: None)
    assert bundledpip.install_bundled_pip(tmp_path / "env", {}) is False


def test_the_wheels_found_are_the_ones_ensurepip_installs() -> None:
    import ensurepip

    wheels = bundledpip.bundled_wheels()
    assert wheels is not None
    assert wheels["pip"].name.startswith(f"pip-{ensurepip.version()}-")

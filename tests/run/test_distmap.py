"""--deps auto's module map: which installed distribution provides a module, read from the
distributions' own records (top_level.txt, RECORD, direct_url.json) on sys.path."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from batchmagic.run.envs import PackageRequest
from tests.run.test_envs import resolve


@pytest.fixture()
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A site-packages directory on sys.path with distributions made for the test."""
    from batchmagic.run.distmap import module_distributions

    directory = tmp_path / "site"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    module_distributions.cache_clear()
    yield directory
    monkeypatch.undo()
    module_distributions.cache_clear()


def _distribution(site: Path, name: str, version: str, *, record: list[str] = (),
                  top_level: str | None = None, url: str | None = None) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "RECORD").write_text("".join(f"{path},sha256=x,1\n" for path in record))
    if top_level is not None:
        (info / "top_level.txt").write_text(top_level)
    if url is not None:
        (info / "direct_url.json").write_text(json.dumps({"url": url, "dir_info": {}}))


def test_modules_map_to_the_distribution_that_installed_them(site: Path,
                                                             tmp_path: Path) -> None:
    _distribution(site, "recpkg", "2.0", record=[
        "recmod.py", "recpkg/__init__.py", "recext.cpython-311-x86_64-linux-gnu.so",
        "recpkg-2.0.dist-info/METADATA", "recpkg-2.0.data/scripts/x", "../../bin/tool",
        "bin/tool", "__pycache__/recmod.cpython-311.pyc", "not-a-module/x.py", "README.txt"])
    _distribution(site, "declared", "1.5", top_level="declmod\n\ndeclpkg/sub\n",
                  record=["ignored.py"])
    source = ("import recmod, recpkg, recext\nimport declmod, declpkg\nimport ignored\n"
              "import README\nimport bin\n")
    packages = resolve(source, PackageRequest(), tmp_path)
    assert packages.requirements == ("recpkg==2.0", "declared==1.5")
    assert dict(packages.origins) == {"recpkg==2.0": "auto: import recmod",
                                      "declared==1.5": "auto: import declmod"}
    assert [w.split(":")[0] for w in packages.warnings] == ["import 'ignored'",
                                                            "import 'README'", "import 'bin'"]


def test_a_distribution_installed_from_a_local_path_is_a_warning(site: Path,
                                                                 tmp_path: Path) -> None:
    _distribution(site, "localpkg", "0.1", record=["localpkg/__init__.py"],
                  url="file:///home/me/src/localpkg")
    _distribution(site, "webpkg", "0.2", record=["webpkg.py"],
                  url="https://example.com/webpkg-0.2.tar.gz")
    packages = resolve("import localpkg\nimport webpkg\n", PackageRequest(), tmp_path)
    assert packages.requirements == ("webpkg==0.2",)
    assert packages.warnings == (
        "import 'localpkg': localpkg is installed here from a local path, which the job cannot "
        "reach; stage its source with --inputs or --pip a published version",)


def test_the_module_map_can_be_built_ahead_in_a_background_thread(site: Path) -> None:
    from batchmagic.run.distmap import module_distributions, warm_in_background

    _distribution(site, "warmed", "1.0", record=["warmed.py"])
    warm_in_background()
    deadline = time.monotonic() + 20
    while module_distributions.cache_info().currsize == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert module_distributions.cache_info().misses == 1  # built once, by the thread
    assert module_distributions()["warmed"] == ["warmed"]


def test_a_broken_install_record_is_not_taken_for_a_local_path(site: Path,
                                                              tmp_path: Path) -> None:
    _distribution(site, "oddpkg", "0.3", record=["oddpkg.py"])
    (site / "oddpkg-0.3.dist-info" / "direct_url.json").write_text("{not json")
    packages = resolve("import oddpkg\n", PackageRequest(), tmp_path)
    assert packages.requirements == ("oddpkg==0.3",) and packages.warnings == ()


def test_an_explicit_package_does_not_stop_auto_for_the_next_imports(site: Path,
                                                                     tmp_path: Path) -> None:
    _distribution(site, "first", "1.0", record=["firstmod.py"])
    _distribution(site, "second", "2.0", record=["secondmod.py"])
    packages = resolve("import firstmod\nimport secondmod\n",
                       PackageRequest(pip=("first>=1",)), tmp_path)
    assert packages.requirements == ("first>=1", "second==2.0")


def test_only_importable_top_level_names_are_mapped(site: Path) -> None:
    from batchmagic.run.distmap import module_distributions

    _distribution(site, "tidy", "1.0", record=[
        "tidy/__init__.py", "__pycache__/tidy.cpython-311.pyc", "__init__.py",
        "not-a-module/x.py", "has.dot/x.py", "2fast/x.py", "bin/tool", "tidyext.pyd",
        "tidy_cli.py,sha256=abc,12"])
    mapped = {module for module, names in module_distributions().items() if "tidy" in names}
    assert mapped == {"tidy", "tidyext", "tidy_cli"}


def test_the_first_distribution_of_a_name_on_sys_path_wins(
        site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from batchmagic.run.distmap import module_distributions

    later = tmp_path / "later-site"
    later.mkdir()
    monkeypatch.syspath_prepend(str(later))  # now before `site` on sys.path
    monkeypatch.syspath_prepend(str(tmp_path / "missing"))  # an entry that is not there
    _distribution(later, "Shared_Name", "2.0", record=["shared_new.py"])
    _distribution(site, "shared_name", "1.0", record=["shared_old.py"])
    _distribution(site, "alsoshared", "1.0", record=["shared_new.py"])
    # A file named like a distribution does not hide the distribution of that name after it.
    (later / "plain-1.0.dist-info").write_text("a file, not a directory")
    _distribution(site, "plain", "1.0", record=["plainmod.py"])
    egg = site / "eggy-0.5.egg-info"
    egg.mkdir()
    (egg / "top_level.txt").write_text("eggmod\n")
    module_distributions.cache_clear()
    mapping = module_distributions()
    assert "shared_old" not in mapping  # shared_name 1.0 is hidden by Shared_Name 2.0
    assert mapping["shared_new"][:2] == ["Shared_Name", "alsoshared"]  # in sys.path order
    assert mapping["eggmod"] == ["eggy"]
    assert mapping["plainmod"] == ["plain"]


def test_the_background_build_cannot_keep_the_kernel_alive(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from batchmagic.run import distmap

    started: list[threading.Thread] = []

    class Recorded(threading.Thread):
        def start(self) -> None:
            started.append(self)
            super().start()

    monkeypatch.setattr(threading, "Thread", Recorded)  # the one distmap starts
    distmap.warm_in_background()
    started[0].join(20)
    assert started[0].daemon and started[0].name == "batchmagic-packages"

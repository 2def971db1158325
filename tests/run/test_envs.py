"""Resolving the job's packages in the kernel: --pip, --requirements, --deps auto, bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from batchmagic.errors import ConfigurationError
from batchmagic.run import envs
from batchmagic.run.envs import PackageRequest, plan_packages, resolve_packages

IMAGE = "public.ecr.aws/docker/library/python:3.11-slim"


def resolve(source: str, request: PackageRequest, tmp_path: Path,
            **extra: object) -> envs.JobPackages:
    kwargs = {"image": IMAGE, "cwd": tmp_path, "pushed": {}, "input_keys": ()}
    kwargs.update(extra)
    return resolve_packages(source, request, **kwargs)  # type: ignore[arg-type]


def test_auto_pins_the_kernels_versions_and_skips_the_standard_library(tmp_path: Path) -> None:
    import packaging

    source = "import os, json\nfrom collections import Counter\nimport packaging.version\n"
    packages = resolve(source, PackageRequest(), tmp_path)
    assert packages.requirements == (f"packaging=={packaging.__version__}",)
    assert packages.origins[packages.requirements[0]] == "auto: import packaging"
    assert packages.warnings == ()


def test_auto_reads_the_modules_of_pushed_values(tmp_path: Path) -> None:
    from packaging.version import Version

    packages = resolve("print(v)", PackageRequest(), tmp_path,
                       pushed={"v": Version("1.0"), "n": 3, "items": [Version("2")]})
    assert [r.split("==")[0] for r in packages.requirements] == ["packaging"]


def test_an_import_no_package_provides_is_one_warning_naming_the_fix(tmp_path: Path) -> None:
    packages = resolve("import surely_not_installed_here\n", PackageRequest(), tmp_path)
    assert packages.requirements == ()
    [warning] = packages.warnings
    assert "'surely_not_installed_here'" in warning
    assert "--pip surely_not_installed_here" in warning


def test_staged_modules_and_the_kestra_stand_in_are_not_packages(tmp_path: Path) -> None:
    source = "import helpers\nfrom mypkg import thing\nfrom kestra import Kestra\n"
    packages = resolve(source, PackageRequest(), tmp_path,
                       input_keys=["helpers.py", "mypkg/__init__.py"])
    assert packages.requirements == () and packages.warnings == ()


def test_explicit_requirements_win_over_auto_and_deps_none_keeps_only_them(
        tmp_path: Path) -> None:
    source = "import packaging\n"
    explicit = resolve(source, PackageRequest(pip=("packaging>=20",)), tmp_path)
    assert explicit.requirements == ("packaging>=20",)
    none = resolve(source, PackageRequest(pip=("cowsay",), deps="none"), tmp_path)
    assert none.requirements == ("cowsay",)
    assert resolve(source, PackageRequest(deps="none"), tmp_path).requirements == ()


def test_a_requirements_file_is_read_with_comments_and_blank_lines(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("# tools\ncowsay==6.1  # the cow\n\nrich\n")
    packages = resolve("", PackageRequest(requirements_file="requirements.txt"), tmp_path)
    assert packages.requirements == ("cowsay==6.1", "rich")
    assert packages.origins["cowsay==6.1"] == "requirements.txt:2"


def _refusal(tmp_path: Path, request_: PackageRequest, files: dict[str, bytes]) -> str:
    """The one line resolve() refuses ``request_`` with, ``files`` written in ``tmp_path``."""
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(ConfigurationError) as caught:
        resolve("", request_, tmp_path)
    return str(caught.value)


@pytest.mark.parametrize(("request_", "files", "message"), [
    (PackageRequest(requirements_file="missing.txt"), {}, "--requirements missing.txt: no such"),
    (PackageRequest(requirements_file="bad.txt"), {"bad.txt": b"\xff\xfe\x00"}, "cannot read"),
    (PackageRequest(requirements_file="opts.txt"), {"opts.txt": b"--index-url x\n"},
     "line 1: pip options (--index-url) are not supported"),
    (PackageRequest(pip=("cowsay==6.1", "cowsay==6.0")), {}, "conflicting requirements"),
    (PackageRequest(pip=("cowsay==6.1", "cowsay<6")), {}, "conflicting requirements"),
    (PackageRequest(pip=("cow say",)), {}, "not a valid requirement"),
    (PackageRequest(pip=("./local_dir",)), {}, "not a valid requirement"),
    (PackageRequest(deps="sometimes"), {}, "--deps 'sometimes': use auto or none"),
    (PackageRequest(pip=("pkg @ https://user:s3cr3t@example.com/pkg.tar.gz",)), {},
     "carries credentials"),
    (PackageRequest(pip=("pkg @ git+https://s3cr3t@github.com/o/pkg",)), {}, "carries credentials"),
    (PackageRequest(requirements_file="r.txt"),
     {"r.txt": b"pkg @ https://u:s3cr3t@example.com/p.whl\n"}, "carries credentials"),
])
def test_bad_package_input_is_one_clear_line(tmp_path: Path, request_: PackageRequest,
                                             files: dict[str, bytes], message: str) -> None:
    refused = _refusal(tmp_path, request_, files)
    assert message in refused
    assert "\n" not in refused
    assert "s3cr3t" not in refused  # a refused credential is not repeated either


def test_compatible_requirements_of_one_package_are_not_a_conflict(tmp_path: Path) -> None:
    packages = resolve("", PackageRequest(pip=("cowsay>=6", "cowsay==6.1")), tmp_path)
    assert packages.requirements == ("cowsay>=6", "cowsay==6.1")


def test_the_key_depends_on_image_and_packages_not_on_their_order(tmp_path: Path) -> None:
    one = resolve("", PackageRequest(pip=("a", "b")), tmp_path)
    other = resolve("", PackageRequest(pip=("b", "a")), tmp_path)
    assert one.key == other.key
    assert one.key != resolve("", PackageRequest(pip=("a",)), tmp_path).key
    assert one.key != resolve("", PackageRequest(pip=("a", "b")), tmp_path,
                              image="python:3.11").key


@pytest.mark.parametrize(("image", "version"), [
    ("public.ecr.aws/docker/library/python:3.12-slim", "3.12"),
    ("python:3.10", "3.10"), ("docker.io/library/python:3.9.18-bookworm", "3.9"),
    ("python:latest", None), ("python", None), ("ghcr.io/kestra-io/pydata:3.12", None),
    ("myregistry:5000/python", None),
])
def test_the_python_version_of_an_official_image_tag(image: str, version: str | None) -> None:
    assert envs.image_python(image) == version


def test_another_python_with_pickled_values_is_refused_before_upload(tmp_path: Path) -> None:
    other = "python:3.9-slim" if not IMAGE.endswith("3.9-slim") else "python:3.10-slim"
    with pytest.raises(ConfigurationError, match=r"runs Python 3\.\d+ but this kernel runs"):
        plan_packages("", PackageRequest(), image=other, cwd=tmp_path, pushed={"x": 1},
                      pulled=(), input_keys=())
    # Without pickles, any image goes.
    packages, spec = plan_packages("", PackageRequest(), image=other, cwd=tmp_path, pushed={},
                                   pulled=(), input_keys=())
    assert spec is None and packages.requirements == ()


def test_the_environment_spec_says_what_the_job_does(tmp_path: Path) -> None:
    packages, spec = plan_packages("import packaging", PackageRequest(setup=("echo hi",)),
                                   image=IMAGE, cwd=tmp_path, pushed={}, pulled=("y",),
                                   input_keys=())
    assert spec is not None
    data = json.loads(spec)
    assert data["requirements"] == list(packages.requirements)
    assert data["setup"] == ["echo hi"] and data["needs_same_python"] is True
    assert data["key"] == packages.key and data["restore_sha256"] is None


def test_a_misspelled_package_or_missing_version_is_refused_before_upload(
        tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no package named 'cowsay-no-such-pkg-x7q'"):
        plan_packages("", PackageRequest(pip=("cowsay-no-such-pkg-x7q",)), image=IMAGE,
                      cwd=tmp_path, pushed={}, pulled=(), input_keys=())
    with pytest.raises(ConfigurationError, match=r"no such version of cowsay .*available: .*6\.1"):
        plan_packages("", PackageRequest(pip=("cowsay==99.0",)), image=IMAGE, cwd=tmp_path,
                      pushed={}, pulled=(), input_keys=())


def test_the_module_map_agrees_with_importlib_metadata() -> None:
    from importlib import metadata

    from packaging.utils import canonicalize_name

    from batchmagic.run.distmap import module_distributions

    module_distributions.cache_clear()
    ours = module_distributions()
    reference = metadata.packages_distributions()
    for module, names in reference.items():
        assert module in ours, module
        assert canonicalize_name(ours[module][0]) in {canonicalize_name(n) for n in names}


def test_an_index_problem_in_a_requirements_file_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("cowsay==6.1\ncowsay-no-such-pkg-x7q\n")
    with pytest.raises(ConfigurationError,
                       match=r"^requirements.txt:2 cowsay-no-such-pkg-x7q: no package named"):
        plan_packages("", PackageRequest(requirements_file="requirements.txt"), image=IMAGE,
                      cwd=tmp_path, pushed={}, pulled=(), input_keys=())


# --- every refusal in full ---------------------------------------------------------------------


@pytest.mark.parametrize(("request_", "files", "message"), [
    (PackageRequest(requirements_file="missing.txt"), {},
     "--requirements missing.txt: no such file (relative paths start at {cwd})"),
    (PackageRequest(requirements_file="bad.txt"), {"bad.txt": b"\xff\xfe\x00"},
     "--requirements bad.txt: cannot read it ('utf-8' codec can't decode byte 0xff in position "
     "0: invalid start byte)"),
    (PackageRequest(requirements_file="opts.txt"),
     {"opts.txt": b"# pinned\n\nnumpy  # arrays\n--index-url x\n"},
     "--requirements opts.txt, line 4: pip options (--index-url) are not supported; list one "
     "requirement per line"),
    (PackageRequest(pip=("cowsay==6.1", "cowsay==6.0")), {},
     "conflicting requirements: cowsay==6.1 and cowsay==6.0 - no version satisfies both; "
     "keep one"),
    (PackageRequest(pip=("CowSay<6", "cowsay===6.1")), {},
     "conflicting requirements: cowsay===6.1 and CowSay<6 - no version satisfies both; "
     "keep one"),
    (PackageRequest(pip=("cow say",)), {},
     "--pip 'cow say': not a valid requirement (Expected semicolon (after name with no version "
     "specifier) or end); write NAME or NAME==VERSION"),
    (PackageRequest(requirements_file="r.txt"), {"r.txt": b"numpy\ncow say\n"},
     "r.txt:2 'cow say': not a valid requirement (Expected semicolon (after name with no "
     "version specifier) or end); write NAME or NAME==VERSION"),
    (PackageRequest(pip=("pkg @ file:///x/y",)), {},
     "--pip 'pkg @ file:///x/y': the job cannot reach a local path; use a package name or an "
     "https:// URL"),
    (PackageRequest(pip=("pkg @ https://user:s3cr3t@example.com/pkg.tar.gz",)), {},
     "--pip: the URL of 'pkg' carries credentials, which would be stored in the job's files "
     "and logs; serve the package from an index and pass that index with its token as a "
     "secret: --secret PIP_INDEX_URL=ARN"),
])
def test_each_package_refusal_in_full(tmp_path: Path, request_: PackageRequest,
                                      files: dict[str, bytes], message: str) -> None:
    assert _refusal(tmp_path, request_, files) == message.format(cwd=tmp_path)


def test_prereleases_and_wildcards_are_not_conflicts(tmp_path: Path) -> None:
    assert resolve("", PackageRequest(pip=("cowsay==7.0rc1", "cowsay>=6")),
                   tmp_path).requirements == ("cowsay==7.0rc1", "cowsay>=6")
    assert resolve("", PackageRequest(pip=("cowsay==6.*", "cowsay<6.5")),
                   tmp_path).requirements == ("cowsay==6.*", "cowsay<6.5")
    assert resolve("", PackageRequest(pip=("cowsay==6.1", "numpy<2")),
                   tmp_path).requirements == ("cowsay==6.1", "numpy<2")  # two packages
    assert resolve("", PackageRequest(pip=("c @ http://example.com/c.whl",)),
                   tmp_path).requirements == ("c @ http://example.com/c.whl",)
    assert resolve("", PackageRequest(pip=("cowsay @ https://example.com/c.whl",)),
                   tmp_path).requirements == ("cowsay @ https://example.com/c.whl",)


def test_a_requirements_file_and_pip_entries_keep_their_origin(tmp_path: Path) -> None:
    (tmp_path / "req.txt").write_text("# comment\n\ncowsay==6.1  # pinned # twice\n  numpy\n")
    packages = resolve("", PackageRequest(pip=("rich",), requirements_file="req.txt",
                                          deps="none"), tmp_path)
    assert dict(packages.origins) == {"rich": "--pip", "cowsay==6.1": "req.txt:3",
                                      "numpy": "req.txt:4"}


def test_the_dry_run_lists_each_requirement_with_its_origin(tmp_path: Path) -> None:
    import packaging

    packages = resolve("import packaging\nimport surely_not_installed_here\n",
                       PackageRequest(pip=("cowsay==6.1",), setup=("apt-get install -y x",)),
                       tmp_path)
    assert packages.describe().splitlines() == [
        f"  {'cowsay==6.1':<32} --pip",
        f"  {'packaging==' + packaging.__version__:<32} auto: import packaging",
        "  --setup: apt-get install -y x",
        "  warning: import 'surely_not_installed_here': no package in this kernel provides "
        "it, so the job will not get it; add --pip surely_not_installed_here (or the name of "
        "the package that provides it)",
        f"  environment key {packages.key[:16]}… (cached as _envs/{packages.key}.tar.gz)",
    ]
    assert envs.JobPackages(requirements=(), setup=(), key="k").describe() == (
        "  (none: the image's packages only)")


def test_the_warning_for_a_missing_import_names_its_package_on_pypi(tmp_path: Path) -> None:
    packages = resolve("import cv2\n", PackageRequest(), tmp_path)
    assert any("add --pip opencv-python (or" in w for w in packages.warnings), packages.warnings


def test_the_environment_key_is_stable_across_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    # Environments cached in buckets by earlier versions are found again only if the key of the
    # same image, Python and packages stays the same.
    monkeypatch.setattr(envs.sys, "version_info", (3, 11, 9, "final", 0))
    key = envs.environment_key("python:3.11-slim", ["numpy==2.0.0", "cowsay==6.1"])
    assert key == "f8789841e2f6c78937420815c50206cff40cb328f0844602222937aef2dab4af"
    assert envs.environment_key("python:3.11-slim", ["cowsay==6.1", "numpy==2.0.0"]) == key
    monkeypatch.setattr(envs.sys, "version_info", (3, 12, 1, "final", 0))
    assert envs.environment_key("python:3.11-slim", ["numpy==2.0.0", "cowsay==6.1"]) != key


def test_the_environment_spec_carries_the_python_and_the_push_manifest(tmp_path: Path) -> None:
    packages, spec = plan_packages("", PackageRequest(), image=IMAGE, cwd=tmp_path,
                                   pushed={"n": 1}, pulled=(), input_keys=())
    assert spec is not None and packages.pickles
    data = json.loads(spec)
    assert data["python"] == "{}.{}".format(*sys.version_info[:2])
    assert data["push_manifest"] == packages.push_manifest
    assert data["push_manifest"]["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert data["requirements"] == [] and data["needs_same_python"] is True
    assert json.loads(envs.environment_spec(packages, "abc"))["restore_sha256"] == "abc"



def test_relative_imports_are_the_cells_own_and_submodules_count_as_their_package(
        tmp_path: Path) -> None:
    import packaging

    source = "from .helpers import x\nfrom . import y\nfrom packaging.version import Version\n"
    packages = resolve(source, PackageRequest(), tmp_path)
    assert packages.requirements == (f"packaging=={packaging.__version__}",)
    assert packages.warnings == ()


def test_pushed_containers_are_read_one_level_deep_up_to_100_items(tmp_path: Path) -> None:
    from packaging.version import Version

    def needs(value: object) -> bool:
        packages = resolve("", PackageRequest(), tmp_path, pushed={"v": value})
        return any(r.startswith("packaging==") for r in packages.requirements)

    assert needs({"k": Version("1")}) and needs([Version("1")]) and needs((1, Version("1")))
    assert needs([0] * 99 + [Version("1")])
    assert not needs([0] * 100 + [Version("1")])
    assert not needs({str(i): 0 for i in range(100)} | {"last": Version("1")})


def test_the_environment_follows_the_request(tmp_path: Path) -> None:
    packages, spec = plan_packages("", PackageRequest(setup=("echo hi",), rebuild=True),
                                   image=IMAGE, cwd=tmp_path, pushed={}, pulled=(),
                                   input_keys=())
    assert spec is not None and packages.rebuild  # --setup alone still needs a setup phase
    assert packages.key == envs.environment_key(IMAGE, [])
    assert json.loads(spec)["push_manifest"] is None
    _, pulled_spec = plan_packages("", PackageRequest(), image=IMAGE, cwd=tmp_path,
                                        pushed={}, pulled=("x",), input_keys=())
    assert pulled_spec is not None and json.loads(pulled_spec)["push_manifest"] is None


def test_an_image_of_another_python_is_refused_in_full(tmp_path: Path) -> None:
    kernel = "{}.{}".format(*sys.version_info[:2])
    with pytest.raises(ConfigurationError) as info:
        envs.check_image_python("python:3.8-slim@sha256:0123abcd", True)
    assert str(info.value) == (
        f"--image python:3.8-slim@sha256:0123abcd runs Python 3.8 but this kernel runs Python "
        f"{kernel}: pickled --push/--pull values need the same major.minor; use "
        f"python:{kernel}-slim (the default image) or drop --push/--pull")
    assert envs.image_python("python:3.12-slim@sha256:0123abcd") == "3.12"

"""Which packages the job needs: ``--pip``, ``--requirements`` and ``--deps auto``, resolved in
the kernel before anything is uploaded (pure: no AWS).

``auto`` reads the cell's imports (``ast``) and the modules of the pushed values, maps each
top-level module to the distribution that provides it in this kernel
(what ``importlib.metadata.packages_distributions()`` says, read faster: ``distmap``) and pins the
kernel's version, so the job runs what the notebook ran. Standard-library modules, the
``kestra`` stand-in the bootstrap provides and modules staged with ``--inputs`` are skipped;
packages the image already has are skipped in the job. An import that no installed
distribution provides is one warning line naming it and the fix (``--pip NAME``); a
distribution installed from a local path or in editable mode cannot be fetched by the job and
is one warning too. Explicit requirements win over ``auto``'s pins of the same name.

The environment's cache key is the SHA-256 of (image, Python major.minor, platform, the
normalised requirement list): one environment per key, built once, stored in the bucket.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from batchmagic.errors import ConfigurationError
from batchmagic.run.distmap import module_distributions
from batchmagic.run.index_check import check_on_index
from batchmagic.runtime.pypi_names import pip_name
from batchmagic.runtime.versions import manifest as pickle_manifest

DEPS_CHOICES = ("auto", "none")
# Provided by the bootstrap (a stand-in) when the image has no `kestra` package.
_PROVIDED_BY_RUNTIME = frozenset({"kestra", "__main__", "__future__"})
# Fargate without runtimePlatform runs LINUX/X86_64 (jobdef/spec.py): the environments' platform.
JOB_PLATFORM = "linux-x86_64"


@dataclass(frozen=True)
class PackageRequest:
    """What the magic line asked for."""

    pip: tuple[str, ...] = ()
    requirements_file: str | None = None
    setup: tuple[str, ...] = ()
    deps: str = "auto"
    rebuild: bool = False


@dataclass(frozen=True)
class JobPackages:
    """The resolved environment of a run: what the job installs and runs before the cell."""

    requirements: tuple[str, ...]
    setup: tuple[str, ...]
    key: str
    origins: Mapping[str, str] = field(default_factory=dict)  # requirement -> why it is there
    warnings: tuple[str, ...] = ()
    explicit: tuple[Requirement, ...] = ()
    rebuild: bool = False
    pickles: bool = False  # --push/--pull: the job's Python must match the kernel's
    push_manifest: Mapping[str, Any] | None = None  # versions the pushed values were pickled with

    @property
    def needs_environment(self) -> bool:
        return bool(self.requirements)

    def describe(self) -> str:
        """The resolved list, one requirement a line with where it came from (--dry-run)."""
        lines = [f"  {req:<32} {self.origins.get(req, '')}" for req in self.requirements]
        if not lines:
            lines = ["  (none: the image's packages only)"]
        lines += [f"  --setup: {command}" for command in self.setup]
        lines += [f"  warning: {warning}" for warning in self.warnings]
        if self.requirements:
            lines.append(f"  environment key {self.key[:16]}… (cached as _envs/{self.key}.tar.gz)")
        return "\n".join(lines)


# --- explicit requirements --------------------------------------------------------------------


def parse_requirement(text: str, where: str) -> Requirement:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        reason = str(error).splitlines()[0]
        raise ConfigurationError(f"{where} {text!r}: not a valid requirement ({reason}); "
                                 "write NAME or NAME==VERSION") from None
    if requirement.url and not requirement.url.startswith(("http://", "https://", "git+")):
        raise ConfigurationError(f"{where} {text!r}: the job cannot reach a local path; "
                                 "use a package name or an https:// URL")
    # git+https://user:token@host/… as well as https://token@host/…
    if requirement.url and "@" in urlsplit(requirement.url.removeprefix("git+")).netloc:
        # The requirement is written to env.json, the environment's lock file, the job's logs
        # and the ledger: a token in it would be stored in all of them.
        raise ConfigurationError(
            f"{where}: the URL of {requirement.name!r} carries credentials, which would be "
            "stored in the job's files and logs; serve the package from an index and pass "
            "that index with its token as a secret: --secret PIP_INDEX_URL=ARN")
    return requirement


def read_requirements_file(path_text: str, cwd: Path) -> list[tuple[str, str]]:
    """(requirement, 'file:line') pairs of a requirements file; pip options are refused."""
    path = (cwd / path_text).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"--requirements {path_text}: no such file "
                                 f"(relative paths start at {cwd})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"--requirements {path_text}: cannot read it ({error})") from None
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise ConfigurationError(
                f"--requirements {path_text}, line {number}: pip options ({line.split()[0]}) "
                "are not supported; list one requirement per line")
        found.append((line, f"{path_text}:{number}"))
    return found


def explicit_requirements(request: PackageRequest, cwd: Path) -> list[tuple[Requirement, str]]:
    """``--pip`` and ``--requirements`` entries, parsed, with conflicting pins refused."""
    entries = [(spec, "--pip") for spec in request.pip]
    if request.requirements_file:
        entries += read_requirements_file(request.requirements_file, cwd)
    parsed = [(parse_requirement(text, "--pip" if origin == "--pip" else origin), origin)
              for text, origin in entries]
    check_conflicts([req for req, _ in parsed])
    return parsed


def check_conflicts(requirements: Sequence[Requirement]) -> None:
    """Two requirements of one package that no version satisfies both: one line."""
    by_name: dict[str, list[Requirement]] = {}
    for req in requirements:
        by_name.setdefault(canonicalize_name(req.name), []).append(req)
    for reqs in by_name.values():
        pins = [(req, spec.version) for req in reqs for spec in req.specifier
                if spec.operator in ("==", "===") and "*" not in spec.version]
        for pinned, version in pins:
            for other in reqs:
                if other is not pinned and not other.specifier.contains(version, prereleases=True):
                    raise ConfigurationError(
                        f"conflicting requirements: {pinned} and {other} - no version "
                        "satisfies both; keep one")


# --- auto -------------------------------------------------------------------------------------


def cell_imports(source: str) -> list[str]:
    """The top-level modules the cell imports, in order of appearance (absolute imports)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module.split(".")[0])
    return list(dict.fromkeys(names))


def value_modules(values: Iterable[Any]) -> list[str]:
    """Top-level modules of the pushed values' types (and of their items, one level deep)."""
    found: list[str] = []
    for value in values:
        items = [value]
        if isinstance(value, dict):
            items += list(value.values())[:100]
        elif isinstance(value, (list, tuple, set, frozenset)):
            items += list(value)[:100]
        for item in items:
            module = getattr(type(item), "__module__", None) or ""
            found.append(module.split(".")[0])
    return list(dict.fromkeys(m for m in found if m))


def _local_files(input_keys: Iterable[str]) -> set[str]:
    """Modules that --inputs stages into the work dir (``util.py``, ``pkg/__init__.py``)."""
    names = set()
    for key in input_keys:
        first = PurePosixPath(key).parts[0]
        names.add(first.removesuffix(".py"))
    return names


def _installed_from_local_path(distribution: str) -> bool:
    """Installed from a directory (editable or not) or a local file: not on any index."""
    try:
        text = metadata.distribution(distribution).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return False
    if not text:
        return False
    try:
        url = str(json.loads(text).get("url", ""))
    except ValueError:
        return False
    return url.startswith("file:")


def auto_requirements(modules: Sequence[str], skip: set[str]
                      ) -> tuple[dict[str, str], list[str]]:
    """({'name==version': 'import x'}, warnings) for the modules that need a package."""
    pins: dict[str, str] = {}
    warnings: list[str] = []
    distributions = module_distributions()
    for module in modules:
        if (module in sys.stdlib_module_names or module in sys.builtin_module_names
                or module in _PROVIDED_BY_RUNTIME or module in skip):
            continue
        names = distributions.get(module)
        if not names:
            warnings.append(f"import {module!r}: no package in this kernel provides it, so the "
                            f"job will not get it; add --pip {pip_name(module)} (or the name of "
                            "the package that provides it)")
            continue
        name = names[0]
        if canonicalize_name(name) in skip:
            continue
        if _installed_from_local_path(name):
            warnings.append(f"import {module!r}: {name} is installed here from a local path, "
                            "which the job cannot reach; stage its source with --inputs or "
                            "--pip a published version")
            continue
        pin = f"{name}=={metadata.version(name)}"
        pins.setdefault(pin, f"auto: import {module}")
    return pins, warnings


# --- the whole resolution ---------------------------------------------------------------------


def environment_key(image: str, requirements: Sequence[str]) -> str:
    """SHA-256 of what makes one environment: image, Python major.minor, platform, packages."""
    python = "{}.{}".format(*sys.version_info[:2])
    canonical = json.dumps({"image": image, "python": python, "platform": JOB_PLATFORM,
                            "requirements": sorted(requirements)}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def resolve_packages(source: str, request: PackageRequest, *, image: str, cwd: Path,
                     pushed: Mapping[str, Any], input_keys: Iterable[str]) -> JobPackages:
    """The job's requirement list (explicit first, then auto's pins), its key and warnings."""
    if request.deps not in DEPS_CHOICES:
        raise ConfigurationError(f"--deps {request.deps!r}: use auto or none")
    explicit = explicit_requirements(request, cwd)
    origins = {str(req): origin for req, origin in explicit}
    warnings: list[str] = []
    if request.deps == "auto":
        skip = {canonicalize_name(req.name) for req, _ in explicit} | _local_files(input_keys)
        modules = cell_imports(source) + value_modules(pushed.values())
        pins, warnings = auto_requirements(list(dict.fromkeys(modules)), skip)
        for pin, origin in pins.items():
            origins.setdefault(pin, origin)
    requirements = tuple(origins)
    return JobPackages(
        requirements=requirements,
        setup=request.setup,
        key=environment_key(image, requirements),
        origins=origins,
        warnings=tuple(warnings),
        explicit=tuple(req for req, _ in explicit),
        rebuild=request.rebuild,
    )


def environment_spec(packages: JobPackages, restore_sha256: str | None = None) -> bytes:
    """The ``env.json`` the job's setup phase reads (runtime/envsetup.py)."""
    return json.dumps({
        "key": packages.key,
        "requirements": list(packages.requirements),
        "setup": list(packages.setup),
        "python": "{}.{}".format(*sys.version_info[:2]),
        "needs_same_python": packages.pickles,
        "restore_sha256": restore_sha256,
        "push_manifest": packages.push_manifest,
    }, indent=2).encode()


# --- images -----------------------------------------------------------------------------------

_OFFICIAL_PYTHON = re.compile(
    r"^(?:(?:docker\.io/|registry-1\.docker\.io/|public\.ecr\.aws/docker/)?library/)?python$")
_TAG_VERSION = re.compile(r"^(\d+)\.(\d+)(?:[.\-]|$)")


def image_python(image: str) -> str | None:
    """The major.minor of an official Python image's tag (``python:3.12-slim`` -> ``3.12``),
    None when the image does not say."""
    name = image.split("@", 1)[0]
    repository, _, tag = name.rpartition(":")
    if not repository or "/" in tag:
        return None
    if not _OFFICIAL_PYTHON.match(repository):
        return None
    match = _TAG_VERSION.match(tag)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def check_image_python(image: str, pickles: bool) -> None:
    """With pickled --push/--pull values, an image whose tag names another Python is refused."""
    kernel = "{}.{}".format(*sys.version_info[:2])
    version = image_python(image)
    if pickles and version is not None and version != kernel:
        raise ConfigurationError(
            f"--image {image} runs Python {version} but this kernel runs Python {kernel}: "
            f"pickled --push/--pull values need the same major.minor; use python:{kernel}-slim "
            "(the default image) or drop --push/--pull")


def plan_packages(source: str, request: PackageRequest, *, image: str, cwd: Path,
                  pushed: Mapping[str, Any], pulled: Sequence[str],
                  input_keys: Iterable[str]) -> tuple[JobPackages, bytes | None]:
    """Everything about the job's packages that can be checked in the kernel, and the
    ``env.json`` to stage (None when the job has nothing to set up)."""
    pickles = bool(pushed or pulled)
    check_image_python(image, pickles)
    packages = resolve_packages(source, request, image=image, cwd=cwd, pushed=pushed,
                                input_keys=input_keys)
    check_on_index(packages.explicit,
                   [packages.origins.get(str(req), "--pip") for req in packages.explicit])
    manifest = pickle_manifest(pushed.values()) if pushed else None
    packages = dataclasses.replace(packages, pickles=pickles, push_manifest=manifest)
    if not (packages.requirements or packages.setup or pickles):
        return packages, None
    return packages, environment_spec(packages)

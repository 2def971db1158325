"""Packages in the job, end to end on the emulator: the official Python image is bare, --pip and
--deps auto install real packages from the package index, the environment is cached in the
bucket and restored by the next run with the same packages."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchmagic import JobFailedError
from batchmagic.aws.clients import AwsClients
from batchmagic.errors import ConfigurationError
from batchmagic.run import distmap
from batchmagic.run.envcache import cache_prefix, list_environments

COW = "import cowsay\nprint(cowsay.get_output_string('cow', 'moo from the job'))\n"
COWSAY = "cowsay==6.1"


@pytest.fixture(scope="session")
def cowsay_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cowsay installed once per test session into a directory of its own (the one package
    install of the session; the job's builds install the same version from the same index)."""
    target = tmp_path_factory.mktemp("cowsay")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--disable-pip-version-check", "--target", str(target), COWSAY],
                   check=True, capture_output=True)
    return target


@pytest.fixture()
def cowsay_in_kernel(cowsay_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The kernel has cowsay installed (on its sys.path, found by importlib.metadata)."""
    monkeypatch.syspath_prepend(str(cowsay_dir))
    distmap.module_distributions.cache_clear()
    importlib.invalidate_caches()
    yield
    distmap.module_distributions.cache_clear()


def run_cell(ip: Any, line: str, cell: str = COW) -> Any:
    return ip.run_cell_magic("aws_batch", f"--local {line}", cell)


def test_a_package_the_image_lacks_fails_locally_as_on_aws_with_the_fix(
        ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(JobFailedError) as caught:
        run_cell(ip, "")
    message = str(caught.value)
    assert "No module named 'cowsay'" in message and "--pip cowsay" in message
    assert "add --pip cowsay" in capsys.readouterr().err  # the warning, before the upload


def test_pip_installs_in_the_job_and_the_next_run_restores_the_cache(
        ip: Any, local_clients: AwsClients) -> None:
    built = run_cell(ip, f"--pip {COWSAY} --rebuild-env")
    assert "moo from the job" in "\n".join(built.logs)
    assert any("[setup] installing 1 package" in line for line in built.logs)
    restored = run_cell(ip, f"--pip {COWSAY}")
    assert "moo from the job" in "\n".join(restored.logs)
    assert any("[setup] environment restored from the cache" in line for line in restored.logs)
    assert not any("[setup] installing" in line for line in restored.logs)
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    settings, _ = magics.effective_settings({"local": True})
    bucket = built.record.bucket
    cached = list_environments(local_clients, bucket, settings.prefix)
    assert any(COWSAY in env.requirements and "cowsay==6.1" in env.installed for env in cached)
    table = ip.run_line_magic("aws_batch_envs", "--local")
    assert COWSAY in repr(table) and cache_prefix(settings.prefix) in repr(table)


def test_deps_auto_installs_what_the_kernel_has(ip: Any, cowsay_in_kernel: None) -> None:
    run = run_cell(ip, "")
    assert "moo from the job" in "\n".join(run.logs)
    # Built now, or restored: auto's pin is the same requirement as `--pip cowsay==6.1`.
    setup = [line for line in run.logs if line.startswith("[setup]")]
    assert any(COWSAY in line or "restored from the cache" in line for line in setup), setup


def test_deps_none_with_explicit_pip_installs_only_those(ip: Any, cowsay_in_kernel: None,
                                                         capsys: pytest.CaptureFixture[str],
                                                         ) -> None:
    ip.run_cell_magic("aws_batch", f"--local --deps none --pip {COWSAY} --dry-run",
                      "import cowsay\nimport packaging\n")
    report = capsys.readouterr().out
    section = report.split("== packages installed in the job")[1].split("==\n", 1)[1]
    assert COWSAY in section and "--pip" in section and "packaging" not in section


def test_dry_run_shows_the_resolved_list(ip: Any, cowsay_in_kernel: None,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell_magic("aws_batch", "--local --dry-run", "import cowsay, json\n")
    report = capsys.readouterr().out
    assert f"{COWSAY}" in report and "auto: import cowsay" in report
    assert ".batchmagic/env.json" in report


@pytest.mark.parametrize(("line", "message"), [
    ("--pip cowsay-no-such-pkg-x7q", "no package named 'cowsay-no-such-pkg-x7q'"),
    ("--pip cowsay==99.0", "no such version of cowsay"),
    ("--requirements nowhere.txt", "--requirements nowhere.txt: no such file"),
    ("--pip cowsay==6.1 cowsay==6.0", "conflicting requirements"),
    ("--image python:3.9-slim --push x", "runs Python 3.9 but this kernel runs"),
])
def test_bad_package_input_fails_before_anything_is_uploaded(
        ip: Any, local_clients: AwsClients, line: str, message: str) -> None:
    from tests.helpers import job_count, object_count

    ip.user_ns["x"] = 1
    jobs, objects = job_count(local_clients), object_count(local_clients)
    with pytest.raises(ConfigurationError, match=message):
        run_cell(ip, line)
    assert (job_count(local_clients), object_count(local_clients)) == (jobs, objects)


def test_a_failed_install_is_one_error_before_the_cell_runs(ip: Any) -> None:
    # An index the job cannot reach: the kernel's own check is skipped for URLs, the job's
    # installer fails, and the cell never runs.
    with pytest.raises(JobFailedError) as caught:
        run_cell(ip, "--deps none --pip 'nothing @ https://127.0.0.1:9/nothing-1.0-py3-none-any.whl'",
                 "print('the cell ran')\n")
    message = str(caught.value)
    assert message.startswith("the job's setup failed, the cell did not run: could not install")
    assert "nothing-1.0" in message
    assert "the cell ran" not in "\n".join(caught.value.run.logs)  # type: ignore[attr-defined]


def test_setup_commands_run_before_the_cell_and_a_failing_one_stops_it(ip: Any) -> None:
    run = run_cell(ip, "--deps none --setup 'echo prepared > marker.txt'",
                   "print(open('marker.txt').read().strip())\n")
    assert "prepared" in run.logs and "[setup] $ echo prepared > marker.txt" in run.logs
    with pytest.raises(JobFailedError, match=r"--setup 'exit 3' exited 3"):
        run_cell(ip, "--deps none --setup 'exit 3'", "print('never')\n")


def test_a_cached_archive_that_does_not_match_its_lock_is_rebuilt_not_used(
        ip: Any, local_clients: AwsClients) -> None:
    # What two builders of one key racing could leave: one's lock file beside the other's
    # archive (here: an archive that is not the one the lock describes at all).
    run_cell(ip, f"--pip {COWSAY}")  # built or restored: the cache has the key now
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    settings, _ = magics.effective_settings({"local": True})
    bucket = magics.runs[-1].record.bucket
    [env] = [e for e in list_environments(local_clients, bucket, settings.prefix)
             if e.requirements == (COWSAY,)]
    archive_key = env.uri.split(f"s3://{bucket}/", 1)[1]
    local_clients.s3.put_object(Bucket=bucket, Key=archive_key, Body=b"not the archive")
    rebuilt = run_cell(ip, f"--pip {COWSAY}")
    assert "moo from the job" in "\n".join(rebuilt.logs)
    assert any("does not match its lock file" in line for line in rebuilt.logs)
    assert any("[setup] installing 1 package" in line for line in rebuilt.logs)
    restored = run_cell(ip, f"--pip {COWSAY}")  # the rebuild repaired the cache
    assert any("restored from the cache" in line for line in restored.logs)

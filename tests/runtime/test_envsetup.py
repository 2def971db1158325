"""The job's setup phase (runtime/envsetup.py), run here as the bootstrap runs it in main."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from batchmagic.runtime import envsetup, runtime_files


def stage(tmp_path: Path, spec: dict[str, object], cell: str) -> Path:
    """A work dir as stage-in leaves it: runtime files, the cell, env.json."""
    internal = tmp_path / "work" / ".batchmagic"
    internal.mkdir(parents=True)
    for name, data in runtime_files().items():
        (internal / name).write_bytes(data)
    (internal / "cell.py").write_text(cell)
    (internal / "env.json").write_text(json.dumps(spec))
    return internal


def bootstrap(internal: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHMAGIC_")}
    env["BATCHMAGIC_WORKDIR"] = str(internal.parent)
    return subprocess.run([sys.executable, str(internal / "bootstrap.py")], env=env,
                          capture_output=True, text=True, timeout=60)


def archive_of(tmp_path: Path, module: str, text: str) -> Path:
    source = tmp_path / "env-src"
    source.mkdir()
    (source / f"{module}.py").write_text(text)
    archive = tmp_path / "env.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source / f"{module}.py", arcname=f"{module}.py")
    return archive


def test_a_cached_environment_is_restored_onto_the_cells_path(tmp_path: Path) -> None:
    archive = archive_of(tmp_path, "restored_mod", "VALUE = 'from the cache'\n")
    internal = stage(tmp_path, {"key": "k", "requirements": ["restored-mod==1"],
                                "restore_sha256": envsetup.file_sha256(str(archive))},
                     "import restored_mod, os\nprint(restored_mod.VALUE)\n"
                     "print('pythonpath', os.environ['PYTHONPATH'].split(os.pathsep)[0] "
                     "== os.path.dirname(restored_mod.__file__))\n")
    archive.rename(internal / "env.tar.gz")
    done = bootstrap(internal)
    assert done.returncode == 0, done.stderr
    assert "[setup] environment restored from the cache" in done.stdout
    assert "from the cache" in done.stdout and "pythonpath True" in done.stdout
    assert not (internal / "env.tar.gz").exists()  # the work dir keeps only the user's files


def test_a_damaged_cache_is_not_used_and_the_environment_is_built_instead(
        tmp_path: Path) -> None:
    archive = archive_of(tmp_path, "restored_mod", "VALUE = 1\n")
    # `pip` is already in the interpreter that runs this test: the build has nothing to fetch.
    internal = stage(tmp_path, {"key": "k", "requirements": ["pip"], "restore_sha256": "0" * 64},
                     "print('cell ran')\n")
    archive.rename(internal / "env.tar.gz")
    done = bootstrap(internal)
    assert done.returncode == 0, done.stderr
    assert "does not match its lock file" in done.stdout
    assert "[setup] already in the image: pip" in done.stdout and "cell ran" in done.stdout


def test_another_python_with_pickled_values_fails_with_one_line(tmp_path: Path) -> None:
    internal = stage(tmp_path, {"python": "2.7", "needs_same_python": True},
                     "print('cell ran')\n")
    done = bootstrap(internal)
    assert done.returncode == 1 and "cell ran" not in done.stdout
    result = json.loads((internal / "result.json").read_text())
    assert result["exception_type"] == "batchmagic_envsetup.SetupError"
    assert result["exception_message"].startswith("this job runs Python 3.")
    assert "kernel runs Python 2.7" in result["exception_message"]
    assert done.stderr.strip().count("\n") == 0  # one line, no traceback of ours


def test_setup_commands_stream_as_setup_lines_and_stop_on_failure(tmp_path: Path) -> None:
    internal = stage(tmp_path, {"setup": ["echo one; echo two", "echo bad >&2; exit 4"]},
                     "print('cell ran')\n")
    done = bootstrap(internal)
    assert "[setup] $ echo one; echo two" in done.stdout
    assert "[setup]   one" in done.stdout and "[setup]   two" in done.stdout
    result = json.loads((internal / "result.json").read_text())
    assert result["exception_message"] == "--setup 'echo bad >&2; exit 4' exited 4: bad"
    assert "cell ran" not in done.stdout


@pytest.mark.parametrize(("output", "expected"), [
    (["Collecting cowsayy", "ERROR: Could not find a version that satisfies the requirement "
      "cowsayy (from versions: none)", "ERROR: No matching distribution found for cowsayy"],
     "could not install cowsayy: ERROR: Could not find"),
    (["  \u00d7 No solution found when resolving dependencies:",
      "  ╰─▶ Because there is no version of cowsay==99 and you require cowsay==99, we can "
      "conclude that your requirements are unsatisfiable."],
     "could not install cowsay==99: \u00d7 No solution found"),
])
def test_an_install_failure_names_the_package_and_the_installers_words(
        output: list[str], expected: str) -> None:
    requirements = ["rich", output[0].split()[-1] if "Collecting" in output[0] else "cowsay==99"]
    message = envsetup.install_failure(requirements, output)
    assert message.startswith(expected)
    assert "rich" not in message.split(":")[0]


def _pickle_of_a_missing_module(tmp_path: Path) -> bytes:
    """A pickle of an instance of a class whose module only exists while pickling."""
    source = tmp_path / "gone"
    source.mkdir()
    (source / "vanishing_mod.py").write_text("class Thing:\n    pass\n")
    script = ("import pickle, sys; sys.path.insert(0, sys.argv[1]); import vanishing_mod; "
              "sys.stdout.buffer.write(pickle.dumps({'x': vanishing_mod.Thing()}, protocol=4))")
    return subprocess.run([sys.executable, "-c", script, str(source)], check=True,
                          capture_output=True).stdout


def test_pushed_values_that_cannot_be_unpickled_show_the_versions_that_differ(
        tmp_path: Path) -> None:
    manifest = {"python": "3.11.7", "modules": {"vanishing_mod": "1.2.3"}}
    internal = stage(tmp_path, {"push_manifest": manifest}, "print('cell ran')\n")
    (internal / "push.pkl").write_bytes(_pickle_of_a_missing_module(tmp_path))
    done = bootstrap(internal)
    assert "cell ran" not in done.stdout
    result = json.loads((internal / "result.json").read_text())
    message = result["exception_message"]
    assert result["exception_type"] == "batchmagic_versions.PickleMismatch"
    assert message.startswith("the --push values cannot be unpickled in the job "
                              "(ModuleNotFoundError: No module named 'vanishing_mod')")
    rows = [line.split() for line in message.splitlines()[1:]]
    assert rows[0] == ["module", "kernel", "job"]
    assert ["vanishing_mod", "1.2.3", "not", "installed"] in rows


def test_pulled_values_that_cannot_be_unpickled_show_the_versions_that_differ(
        tmp_path: Path) -> None:
    from batchmagic.errors import JobFailedError
    from batchmagic.run.outputs import load_pulled

    data = _pickle_of_a_missing_module(tmp_path)
    with pytest.raises(ModuleNotFoundError):
        load_pulled(data)  # without a manifest: the error as it is
    manifest = {"python": "3.11.7", "modules": {"vanishing_mod": "0.9"}}
    with pytest.raises(JobFailedError) as caught:
        load_pulled(data, manifest)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("the --pull values cannot be unpickled in the kernel")
    assert lines[1].split() == ["module", "job", "kernel"]
    assert lines[2].split() == ["vanishing_mod", "0.9", "not", "installed"]


def test_the_bootstrap_says_what_the_pulled_values_were_pickled_with(tmp_path: Path) -> None:
    internal = stage(tmp_path, {}, "from decimal import Decimal\nvalue = Decimal(1)\nn = 2\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHMAGIC_")}
    env.update(BATCHMAGIC_WORKDIR=str(internal.parent), BATCHMAGIC_PULL="value,n")
    subprocess.run([sys.executable, str(internal / "bootstrap.py")], env=env, check=True,
                   capture_output=True, timeout=60)
    manifest = json.loads((internal / "result.json").read_text())["pull_manifest"]
    assert manifest["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert manifest["modules"] == {}  # decimal and int: standard library, no version to compare


def test_system_package_commands_are_skipped_on_the_emulator_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        ) -> None:
    command = "echo first && apt-get install -y nothing-here"
    monkeypatch.setenv("BATCHMAGIC_VOLUME_MAP", "{}")  # what the emulator sets
    envsetup.run_setup_command(command)
    assert "skipped on the local emulator" in capsys.readouterr().out
    monkeypatch.delenv("BATCHMAGIC_VOLUME_MAP")
    with pytest.raises(envsetup.SetupError):  # elsewhere it runs (and fails here: no such pkg)
        envsetup.run_setup_command("sh -c 'exit 9' && apt-get install -y nothing-here")
    envsetup.run_setup_command("echo plain")
    assert "[setup]   plain" in capsys.readouterr().out

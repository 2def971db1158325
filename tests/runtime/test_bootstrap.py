"""The container runtime, run for real: bootstrap.py in a subprocess, in a temporary work dir."""

from __future__ import annotations

import ast
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from batchmagic.run.template import render_cell
from batchmagic.runtime import runtime_files
from batchmagic.runtime.bootstrap import DONE_LINE
from tests.runtime.finished import Finished

REFERENCE = Path(__file__).parent / "data" / "kestra_reference_script.py"


def stage(tmp_path: Path, cell: str, push: dict[str, Any] | None = None) -> Path:
    """Lay out a work dir as stage-in would: runtime files, the cell, the pushed variables."""
    workdir = tmp_path / "work"
    internal = workdir / ".batchmagic"
    internal.mkdir(parents=True)
    for name, data in runtime_files().items():
        (internal / name).write_bytes(data)
    (internal / "cell.py").write_text(cell)
    if push is not None:
        (internal / "push.pkl").write_bytes(pickle.dumps(push, protocol=4))
    return workdir


def environment(workdir: Path, pull: str = "", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BATCHMAGIC_", "PYTHON"))}
    env.update(
        BATCHMAGIC_WORKDIR=str(workdir),
        BATCHMAGIC_OUTPUT_DIR=str(workdir / ".outputs"),
        BATCHMAGIC_PULL=pull,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run(tmp_path: Path, cell: str, *, push: dict[str, Any] | None = None, pull: str = "",
        **extra: str) -> Finished:
    workdir = stage(tmp_path, cell, push)
    # Started from elsewhere, like the container's default working directory.
    process = subprocess.run(
        [sys.executable, str(workdir / ".batchmagic/bootstrap.py")],
        env=environment(workdir, pull, **extra),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Finished(process.returncode, process.stdout, process.stderr, workdir)


GOOD_CELL = """\
import os
from kestra import Kestra

print("cwd", os.getcwd())
total = sum(numbers) * factor
with open(os.path.join(os.environ["BATCHMAGIC_OUTPUT_DIR"], "report.txt"), "w") as f:
    f.write("total=%d" % total)
with open("relative.txt", "w") as f:
    f.write("in the work dir")
Kestra.outputs({"total": total, "label": label})
Kestra.counter("rows", 3, {"table": "t"})
if __name__ == "__main__":
    ran_as_main = True
"""


def test_good_cell(tmp_path: Path) -> None:
    done = run(tmp_path, GOOD_CELL, push={"numbers": [1, 2, 3], "factor": 7, "label": "x"},
               pull="total,ran_as_main,label")
    assert done.code == 0, done.stderr
    assert f"cwd {done.workdir}" in done.stdout
    lines = done.stdout.splitlines()
    assert '::{"outputs": {"total": 42, "label": "x"}}::' in lines
    assert '::{"metrics": [{"name": "rows", "type": "counter", "value": 3, ' \
           '"tags": {"table": "t"}}]}::' in lines

    result = done.result
    assert result["ok"] is True
    assert result["exception_type"] is None and result["traceback"] is None
    assert result["outputs"] == {"total": 42, "label": "x"}
    assert result["missing_pull"] == [] and result["unpicklable_pull"] == {}

    assert done.pulled == {"total": 42, "ran_as_main": True, "label": "x"}
    assert (done.workdir / ".outputs/report.txt").read_text() == "total=42"
    assert (done.workdir / "relative.txt").exists()
    leftovers = [p.name for p in (done.workdir / ".batchmagic").iterdir() if ".tmp" in p.name]
    assert leftovers == []


FAILING_CELL = """\
x = 1
y = 0
ratio = x / y
"""


def test_failing_cell(tmp_path: Path) -> None:
    done = run(tmp_path, "before = 5\n" + FAILING_CELL, pull="before,ratio")
    assert done.code == 1
    result = done.result
    assert result["ok"] is False
    assert result["exception_type"] == "ZeroDivisionError"
    assert result["exception_message"] == "division by zero"
    traceback_text = result["traceback"]
    cell_path = str(done.workdir / ".batchmagic/cell.py")
    assert f'File "{cell_path}", line 4, in <module>' in traceback_text
    assert "ratio = x / y" in traceback_text  # linecache shows the cell's line
    assert "bootstrap.py" not in traceback_text
    assert traceback_text in done.stderr
    # What was defined before the error still comes back; what was not is reported.
    assert done.pulled == {"before": 5}
    assert result["missing_pull"] == ["ratio"]


def test_error_in_a_function_keeps_all_cell_frames(tmp_path: Path) -> None:
    cell = (
        "def inner():\n    raise ValueError('bad value')\n\n"
        "def outer():\n    inner()\n\nouter()\n"
    )
    done = run(tmp_path, cell)
    traceback_text = done.result["traceback"]
    assert re.findall(r"line (\d+)", traceback_text) == ["7", "5", "2"]
    assert traceback_text.rstrip().endswith("ValueError: bad value")


def test_syntax_error_in_cell(tmp_path: Path) -> None:
    done = run(tmp_path, "x = (\n")
    assert done.code == 1
    assert done.result["exception_type"] == "SyntaxError"
    assert "cell.py" in done.result["traceback"]


@pytest.mark.parametrize(("cell", "code", "ok"), [
    ("import sys\nsys.exit()\n", 0, True),
    ("import sys\nsys.exit(0)\n", 0, True),
    ("import sys\nsys.exit(3)\n", 3, False),
    ("raise SystemExit('stopped here')\n", 1, False),
])
def test_sys_exit_is_honoured(tmp_path: Path, cell: str, code: int, ok: bool) -> None:
    done = run(tmp_path, "kept = 1\n" + cell, pull="kept")
    assert done.code == code
    assert done.result["ok"] is ok
    assert done.pulled == {"kept": 1}
    if not ok:
        assert done.result["exception_type"] == "SystemExit"
    if "stopped here" in cell:
        assert "stopped here" in done.stderr


def test_unpicklable_and_missing_pull(tmp_path: Path) -> None:
    cell = "import threading\nlock = threading.Lock()\ngood = {'a': [1, 2]}\n"
    done = run(tmp_path, cell, pull="lock, good ,absent,")
    assert done.code == 0
    result = done.result
    assert result["ok"] is True
    assert result["missing_pull"] == ["absent"]
    assert list(result["unpicklable_pull"]) == ["lock"]
    assert "lock" in result["unpicklable_pull"]["lock"] or "pickle" in \
        result["unpicklable_pull"]["lock"]
    assert done.pulled == {"good": {"a": [1, 2]}}
    assert "'lock' cannot be pickled" in done.stderr
    assert "'absent' is not defined" in done.stderr


def test_no_pull_writes_no_pickle(tmp_path: Path) -> None:
    done = run(tmp_path, "x = 1\n")
    assert done.code == 0
    assert not (done.workdir / ".batchmagic/pull.pkl").exists()
    assert done.result["ok"] is True


def test_outputs_printed_by_hand_are_collected(tmp_path: Path) -> None:
    cell = (
        'import json\nprint("::" + json.dumps({"outputs": {"n": 1}}) + "::")\n'
        'print("::nope::")\n'
    )
    done = run(tmp_path, cell)
    assert done.result["outputs"] == {"n": 1}


def test_a_real_kestra_package_wins_over_the_stand_in(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "kestra.py").write_text(
        "import json\nclass Kestra:\n    @staticmethod\n    def outputs(m):\n"
        "        print('::' + json.dumps({'outputs': m}) + '::')\n"
        "REAL = True\n"
    )
    cell = (
        "import kestra\nis_real = getattr(kestra, 'REAL', False)\n"
        "kestra.Kestra.outputs({'k': 2})\n"
    )
    done = run(tmp_path, cell, pull="is_real", PYTHONPATH=str(site))
    assert done.code == 0, done.stderr
    assert done.pulled == {"is_real": True}
    assert done.result["outputs"] == {"k": 2}


def test_cell_can_import_modules_from_the_work_dir(tmp_path: Path) -> None:
    workdir = stage(tmp_path, "import helper\nvalue = helper.VALUE\n")
    (workdir / "helper.py").write_text("VALUE = 'from an input file'\n")
    process = subprocess.run(
        [sys.executable, str(workdir / ".batchmagic/bootstrap.py")],
        env=environment(workdir, "value"), cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )
    assert process.returncode == 0, process.stderr
    with open(workdir / ".batchmagic/pull.pkl", "rb") as handle:
        assert pickle.load(handle) == {"value": "from an input file"}


def test_defaults_without_environment(tmp_path: Path) -> None:
    """Without the BATCHMAGIC_* variables the work dir is two levels above bootstrap.py."""
    workdir = stage(tmp_path, "import os\nprint(os.getcwd())\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHMAGIC_")}
    process = subprocess.run(
        [sys.executable, str(workdir / ".batchmagic/bootstrap.py")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout.splitlines() == [str(workdir), DONE_LINE]
    assert (workdir / ".outputs").is_dir()


def test_sigterm_still_saves_results(tmp_path: Path) -> None:
    cell = "import time\npartial = 'kept'\nprint('ready', flush=True)\ntime.sleep(30)\n"
    workdir = stage(tmp_path, cell)
    process = subprocess.Popen(
        [sys.executable, str(workdir / ".batchmagic/bootstrap.py")],
        env=environment(workdir, "partial"), cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in stderr  # an interrupt shows one line, not the cell's traceback
    result = json.loads((workdir / ".batchmagic/result.json").read_text())
    assert result["exception_type"] == "JobTerminated"
    assert "time.sleep(30)" in result["traceback"]  # the cell's line…
    assert "bootstrap.py" not in result["traceback"]  # …and none of the bootstrap's frames
    with open(workdir / ".batchmagic/pull.pkl", "rb") as handle:
        assert pickle.load(handle) == {"partial": "kept"}


def reference_script() -> str:
    """The example script of the Kestra AWS Batch task runner document the project is based on
    (its ``script: |`` block), shipped with the tests."""
    return REFERENCE.read_text()


def test_reference_example_runs_unchanged(tmp_path: Path) -> None:
    source = reference_script()
    assert "{{ workingDir }}/environment_info.json" in source
    workdir = tmp_path / "work"
    rendered = render_cell(source, {"workingDir": str(workdir), "outputDir": str(workdir / ".o")})
    done = run(tmp_path, rendered)
    assert done.code == 0, done.stderr
    assert "Hello from AWS Batch and kestra!" in done.stdout
    assert "Python version:" in done.stdout
    outputs = done.result["outputs"]
    assert set(outputs) == {"host", "platform", "OS", "python_version"}
    saved = json.loads((done.workdir / "environment_info.json").read_text())
    assert saved == outputs
    assert any(line.startswith('::{"outputs": {"host": ') for line in done.stdout.splitlines())


# --- the files themselves -----------------------------------------------------------------------


SHIPPED = ["bootstrap.py", "kestra.py", "mapchild.py", "batchmagic_links.py", "progress_lines.py",
           "envsetup.py", "versions.py", "pypi_names.py"]


def test_runtime_files_are_shipped() -> None:
    files = runtime_files()
    assert set(files) == set(SHIPPED)
    assert all(data.strip() for data in files.values())


@pytest.mark.parametrize("name", SHIPPED)
def test_runtime_files_are_stdlib_only_and_python38(name: str) -> None:
    source = runtime_files()[name].decode()
    tree = ast.parse(source, feature_version=(3, 8))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert "batchmagic" not in imported
    shipped = {Path(other).stem for other in runtime_files()}  # shipped side by side
    assert imported <= set(sys.stdlib_module_names) | {"__future__"} | shipped, imported
    for node in ast.walk(tree):
        assert not isinstance(node, ast.Match)


def test_container_work_dir_paths_are_rewritten_where_the_volume_lives(tmp_path: Path) -> None:
    cell = (
        "open('/work/.outputs/a.txt', 'w').write('rendered outputDir')\n"
        "print('/work', '/home/work/x', '/workdir')\n"
    )
    finished = run(tmp_path, cell)
    assert finished.code == 0, finished.stderr
    assert (finished.workdir / ".outputs" / "a.txt").read_text() == "rendered outputDir"
    # Only the work dir itself, on path boundaries: lookalikes are left alone.
    assert f"{finished.workdir} /home/work/x /workdir" in finished.stdout

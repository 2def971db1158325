"""bootstrap.main() called in this process, on a staged work dir.

tests/runtime/test_bootstrap.py runs the shipped script in a subprocess, as the container does;
these tests call the same entry point in the test process, where a changed line of bootstrap.py
shows (mutation testing cannot follow a subprocess). Each test restores what main() changes for
the process: the working directory, sys.path, ``__main__``, the SIGTERM handler.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from batchmagic.runtime import bootstrap
from tests.runtime.finished import Finished


class _KernelWithPoint(pickle.Unpickler):
    """Unpickles as a kernel that also ran the cell's ``class Point``."""

    class Point:
        pass

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("__main__", "Point"):
            return self.Point
        return super().find_class(module, name)


@dataclass
class Container:
    """A staged work dir and a way to run one cell in it."""

    workdir: Path
    monkeypatch: pytest.MonkeyPatch
    capfd: pytest.CaptureFixture[str]

    def run(self, cell: str, *, push: Any = None, pull: str = "") -> Finished:
        internal = self.workdir / ".batchmagic"
        (internal / "cell.py").write_text(cell)
        if push is not None:
            (internal / "push.pkl").write_bytes(pickle.dumps(push, protocol=4))
        self.monkeypatch.setenv("BATCHMAGIC_PULL", pull)
        code = bootstrap.main()
        out, err = self.capfd.readouterr()
        return Finished(code, out, err, self.workdir)


@pytest.fixture()
def container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              capfd: pytest.CaptureFixture[str]) -> Iterator[Container]:
    workdir = tmp_path / "work"
    (workdir / ".batchmagic").mkdir(parents=True)
    for name in ("BATCHMAGIC_OUTPUT_DIR", "BATCHMAGIC_MAP_AS", "BATCHMAGIC_PULL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BATCHMAGIC_WORKDIR", str(workdir))
    monkeypatch.chdir(tmp_path)  # started elsewhere, like the container's default directory
    saved_path = list(sys.path)
    saved_main = sys.modules["__main__"]
    saved_kestra = sys.modules.pop("kestra", None)
    saved_handler = signal.getsignal(signal.SIGTERM)
    for name in ("batchmagic_envsetup", "batchmagic_versions", "batchmagic_links"):  # afresh
        monkeypatch.delitem(sys.modules, name, raising=False)
    try:
        yield Container(workdir, monkeypatch, capfd)
    finally:
        signal.signal(signal.SIGTERM, saved_handler)
        sys.path[:] = saved_path
        sys.modules["__main__"] = saved_main
        sys.modules.pop("kestra", None)
        if saved_kestra is not None:
            sys.modules["kestra"] = saved_kestra


def test_a_cell_runs_in_the_work_dir_with_pushed_values_and_its_results_come_back(
        container: Container) -> None:
    cell = (
        "import os\n"
        "from kestra import Kestra\n"
        "total = sum(numbers) * factor\n"
        "here = os.getcwd()\n"
        "with open(os.path.join(os.environ.get('BATCHMAGIC_OUTPUT_DIR', '.outputs'),\n"
        "          'report.txt'), 'w') as f:\n"
        "    f.write('total=%d' % total)\n"
        "Kestra.outputs({'total': total})\n"
        "as_main = __name__ == '__main__'\n"
        "class Point:\n    pass\n"
        "point_module = Point.__module__\n"
        "point = Point()\n"
        "size: int = 3\n"
        "hints = __annotations__\n"
        "cell_file, cell_doc = __file__, __doc__\n"
    )
    before = time.time()
    done = container.run(cell, push={"numbers": [1, 2, 3], "factor": 7},
                         pull="total,here,as_main,point_module,hints,cell_file,cell_doc,point")
    assert done.code == 0, done.stderr
    pickled = (container.workdir / ".batchmagic/pull.pkl").read_bytes()
    # Protocol 4, which every Python 3 the kernel may run reads; the cell's class as the
    # kernel's would be, __main__.Point (rebuilt in the kernel when it defines Point too).
    assert pickled[:2] == b"\x80\x04"
    assert b"__main__" in pickled and b"Point" in pickled
    assert done.result["unpicklable_pull"] == {}
    pulled = _KernelWithPoint(io.BytesIO(pickled)).load()
    assert isinstance(pulled.pop("point"), _KernelWithPoint.Point)
    assert pulled == {"total": 42, "here": str(container.workdir), "as_main": True,
                      "point_module": "__main__", "hints": {"size": int},
                      "cell_file": str(container.workdir / ".batchmagic/cell.py"),
                      "cell_doc": None}
    # Without BATCHMAGIC_OUTPUT_DIR the outputs go to <workdir>/.outputs, made for the cell.
    assert (container.workdir / ".outputs/report.txt").read_text() == "total=42"
    result = done.result
    assert result["ok"] is True and result["exit_code"] == 0
    assert result["exception_type"] is None and result["exception_message"] is None
    assert result["traceback"] is None
    assert result["outputs"] == {"total": 42}
    assert result["missing_pull"] == [] and result["unpicklable_pull"] == {}
    assert before <= result["started_at"] <= result["ended_at"] <= time.time()
    assert set(result["usage"]) == {"max_rss_mib", "cpu_seconds", "wall_seconds"}
    assert result["pull_manifest"] is not None
    # The last line tells the kernel the cell is done; nothing half-written is left.
    assert done.stdout.splitlines()[-1] == bootstrap.DONE_LINE
    assert [p.name for p in (container.workdir / ".batchmagic").iterdir() if ".tmp" in p.name] \
        == []


def test_the_output_dir_is_the_one_the_job_names(container: Container) -> None:
    out = container.workdir / "elsewhere" / "out"
    container.monkeypatch.setenv("BATCHMAGIC_OUTPUT_DIR", str(out))
    done = container.run(f"import os\nopen(os.path.join({str(out)!r}, 'a.txt'), 'w').write('x')\n")
    assert done.code == 0, done.stderr
    assert (out / "a.txt").read_text() == "x"
    assert not (container.workdir / ".outputs").exists()


def test_the_cell_imports_from_the_work_dir_before_the_kestra_stand_in(
        container: Container) -> None:
    (container.workdir / "helper.py").write_text("VALUE = 'from an input file'\n")
    (container.workdir / "kestra.py").write_text("REAL = True\n")
    done = container.run("import helper, kestra\nvalue = helper.VALUE\n"
                         "is_real = getattr(kestra, 'REAL', False)\n", pull="value,is_real")
    assert done.code == 0, done.stderr
    assert done.pulled == {"value": "from an input file", "is_real": True}
    assert sys.path[0] == str(container.workdir)


def test_a_failing_cell_reports_its_own_frames_and_keeps_what_it_defined(
        container: Container) -> None:
    cell = "before = 5\ndef inner():\n    return 1 / 0\n\nratio = inner()\n"
    done = container.run(cell, pull="before,ratio")
    assert done.code == 1
    result = done.result
    assert result["ok"] is False and result["exit_code"] == 1
    assert result["exception_type"] == "ZeroDivisionError"
    assert result["exception_message"] == "division by zero"
    traceback_text = result["traceback"]
    cell_path = container.workdir / ".batchmagic/cell.py"
    lines = traceback_text.splitlines()
    assert lines[:3] == ["Traceback (most recent call last):",
                         f'  File "{cell_path}", line 5, in <module>', "    ratio = inner()"]
    assert f'  File "{cell_path}", line 3, in inner' in lines
    assert re.findall(r"line (\d+)", traceback_text) == ["5", "3"]
    assert "bootstrap.py" not in traceback_text
    assert traceback_text.rstrip().endswith("ZeroDivisionError: division by zero")
    assert traceback_text in done.stderr
    assert done.pulled == {"before": 5}
    assert result["missing_pull"] == ["ratio"]
    assert "batchmagic: 'ratio' is not defined after the cell; not pulled" in done.stderr


def test_a_syntax_error_names_the_cell_file(container: Container) -> None:
    done = container.run("x = (\n")
    assert done.code == 1
    assert done.result["exception_type"] == "SyntaxError"
    assert "Traceback" not in done.result["traceback"]  # no frame of the cell ever ran
    assert 'cell.py", line 1' in done.result["traceback"]


def test_an_exception_from_a_module_is_named_with_its_module(container: Container) -> None:
    done = container.run("import json\njson.loads('{')\n")
    assert done.result["exception_type"] == "json.decoder.JSONDecodeError"
    done = container.run("class CellError(Exception):\n    pass\nraise CellError('x')\n")
    assert done.result["exception_type"] == "CellError"  # defined in the cell (__main__)


def test_a_missing_module_says_how_to_install_it(container: Container) -> None:
    done = container.run("import surely_not_installed_here\n")
    assert done.result["exception_type"] == "ModuleNotFoundError"
    assert "add --pip surely_not_installed_here" in done.result["exception_message"]


def test_a_missing_module_named_otherwise_on_pypi_names_its_package(
        container: Container) -> None:
    done = container.run("import sklearn.linear_model\n")  # `pip install sklearn` only fails
    assert "add --pip scikit-learn," in done.result["exception_message"], done.result


@pytest.mark.parametrize(("cell", "code", "ok"), [
    ("import sys\nsys.exit()\n", 0, True),
    ("import sys\nsys.exit(0)\n", 0, True),
    ("import sys\nsys.exit(3)\n", 3, False),
    ("raise SystemExit('stopped here')\n", 1, False),
])
def test_sys_exit_is_honoured(container: Container, cell: str, code: int, ok: bool) -> None:
    done = container.run("kept = 1\n" + cell, pull="kept")
    assert done.code == code
    assert done.result["ok"] is ok
    assert done.result["exit_code"] == code
    assert done.pulled == {"kept": 1}
    if ok:
        assert done.result["exception_type"] is None
    else:
        assert done.result["exception_type"] == "SystemExit"
        assert done.result["traceback"] is None  # an exit is not a crash
        assert "Traceback" not in done.stderr
    assert ("stopped here" in done.stderr) is ("stopped here" in cell)


def test_sigterm_stops_the_cell_and_still_saves_its_results(container: Container) -> None:
    cell = ("import os, signal, time\npartial = 'kept'\n"
            "os.kill(os.getpid(), signal.SIGTERM)\ntime.sleep(30)\n")
    started = time.monotonic()
    done = container.run(cell, pull="partial")
    assert time.monotonic() - started < 20
    assert done.code == 128 + signal.SIGTERM
    result = done.result
    # Named after the module it was raised from: `__main__` in the container, so a bare name.
    assert result["exception_type"] == "batchmagic.runtime.bootstrap.JobTerminated"
    assert result["exit_code"] == 128 + signal.SIGTERM
    assert result["exception_message"] == "the job was asked to stop (SIGTERM)"
    assert "os.kill(os.getpid(), signal.SIGTERM)" in result["traceback"]
    assert "bootstrap.py" not in result["traceback"]  # the handler's frame is ours
    assert "Traceback" not in done.stderr  # a stop that was asked for shows no traceback
    assert done.pulled == {"partial": "kept"}
    # Once the cell is over, a second SIGTERM no longer interrupts the saving of results.
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN


def test_a_stopped_cell_does_not_list_the_names_it_never_got_to_define(
        container: Container) -> None:
    cell = "import os, signal, time\nos.kill(os.getpid(), signal.SIGTERM)\ntime.sleep(30)\nr = 1\n"
    done = container.run(cell, pull="r")
    assert done.code == 128 + signal.SIGTERM
    assert done.result["missing_pull"] == ["r"]  # still known to the kernel
    assert "is not defined after the cell" not in done.stderr


def test_values_that_cannot_be_pickled_are_named_and_the_rest_come_back(
        container: Container) -> None:
    cell = "import threading\nlock = threading.Lock()\ngood = {'a': [1, 2]}\n"
    done = container.run(cell, pull=" lock, good ,absent,,")
    assert done.code == 0
    result = done.result
    assert result["ok"] is True
    assert result["missing_pull"] == ["absent"]
    assert result["unpicklable_pull"] == {"lock": "TypeError: cannot pickle '_thread.lock' object"}
    assert done.pulled == {"good": {"a": [1, 2]}}
    assert ("batchmagic: 'lock' cannot be pickled (TypeError: cannot pickle '_thread.lock' "
            "object); not pulled") in done.stderr


def test_no_pull_writes_no_pickle(container: Container) -> None:
    done = container.run("x = 1\n")
    assert done.code == 0
    assert not (container.workdir / ".batchmagic/pull.pkl").exists()
    assert done.result["pull_manifest"] is None


def test_a_push_that_is_not_a_dict_fails_the_run(container: Container) -> None:
    done = container.run("ran = True\n", push=[1, 2], pull="ran")
    assert done.code == 1
    assert done.result["exception_type"] == "TypeError"
    assert done.result["exception_message"] == "push.pkl must hold a dict of name -> value"
    assert done.result["missing_pull"] == ["ran"]  # the cell never ran


def test_outputs_printed_by_hand_are_collected(container: Container) -> None:
    done = container.run('import json\nprint("::" + json.dumps({"outputs": {"n": 1}}) + "::")\n')
    assert done.result["outputs"] == {"n": 1}


def test_container_work_dir_paths_point_where_the_volume_lives(container: Container) -> None:
    done = container.run("open('/work/.outputs/a.txt', 'w').write('x')\n"
                         "print('/work', '/home/work/x', '/workdir')\n")
    assert done.code == 0, done.stderr
    assert (container.workdir / ".outputs/a.txt").read_text() == "x"
    assert f"{container.workdir} /home/work/x /workdir" in done.stdout


def test_paths_are_left_alone_when_the_volume_is_at_the_container_path() -> None:
    source = "open('/work/a.txt')\n"
    assert bootstrap.container_paths_to("/work", source) == source
    assert bootstrap.container_paths_to("/work/", source) == source
    assert bootstrap.container_paths_to("/scratch/w", source) == "open('/scratch/w/a.txt')\n"


@pytest.mark.parametrize(("source", "rewritten"), [
    ('"/work"', '"/scratch/w"'), ("('/work',)", "('/scratch/w',)"), ("[/work]", "[/scratch/w]"),
    ("`/work`", "`/scratch/w`"), ("cd /work; ls", "cd /scratch/w; ls"),
    ("PATH=/usr/bin:/work:/bin", "PATH=/usr/bin:/scratch/w:/bin"),
    ("a /work\nb", "a /scratch/w\nb"),
    ("x = '/work/d/f.csv'", "x = '/scratch/w/d/f.csv'"), ("/work", "/scratch/w"),
    # Other directories that contain /work in their path stay as they are.
    ("'~/work/a.csv'", "'~/work/a.csv'"), ('f"{home}/work/a"', 'f"{home}/work/a"'),
    ("'/home/work'", "'/home/work'"), ("'./work'", "'./work'"), ("'../work'", "'../work'"),
    ("'data-/work'", "'data-/work'"), ("'/workdir'", "'/workdir'"), ("'/work.old'", "'/work.old'"),
    ("'/work-2'", "'/work-2'"), ("'/work_x'", "'/work_x'"),
])
def test_only_the_work_dir_itself_is_rewritten(source: str, rewritten: str) -> None:
    assert bootstrap.container_paths_to("/scratch/w", source) == rewritten


def test_a_work_dir_that_does_not_exist_here_falls_back_to_where_the_files_were_staged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHMAGIC_WORKDIR", "/no/such/work")
    monkeypatch.setenv("BATCHMAGIC_OUTPUT_DIR", "/no/such/work/results/out")
    staged = os.path.dirname(bootstrap.HERE)
    run = bootstrap.Run()
    assert run.workdir == staged
    assert run.output_dir == os.path.join(staged, "results", "out")
    # No cell.py under <workdir>/.batchmagic: the files next to bootstrap.py are the run's.
    assert run.internal == bootstrap.HERE == run.results_dir
    assert run.cell_path == os.path.join(bootstrap.HERE, "cell.py")


def test_usage_measures_wall_time_cpu_and_peak_memory() -> None:
    usage = bootstrap.measure_usage(time.monotonic() - 2.5)
    assert 2.5 <= usage["wall_seconds"] < 60
    peak_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    assert abs(usage["max_rss_mib"] - peak_kib / 1024) <= 0.1
    own = resource.getrusage(resource.RUSAGE_SELF)
    assert own.ru_utime + own.ru_stime - 1 < usage["cpu_seconds"]


def test_a_real_kestra_package_wins_over_the_stand_in(container: Container,
                                                     tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "kestra.py").write_text("REAL = True\n")
    sys.path.insert(0, str(site))  # installed in the image
    done = container.run("import kestra\nis_real = getattr(kestra, 'REAL', False)\n",
                         pull="is_real")
    assert done.code == 0, done.stderr
    assert done.pulled == {"is_real": True}
    assert sys.path[0] == str(container.workdir) and sys.path[-1] == bootstrap.HERE
    assert sys.path.count(bootstrap.HERE) == 1 and str(site) in sys.path


def test_the_work_dirs_own_files_never_replace_batchmagics(container: Container) -> None:
    for name in ("envsetup.py", "versions.py", "batchmagic_links.py"):
        (container.workdir / name).write_text("raise ImportError('the work dir copy')\n")
    done = container.run("x = 1\n", push={"n": 1}, pull="x,n")
    assert done.code == 0, done.stderr
    assert done.pulled == {"x": 1, "n": 1}


def test_outputs_that_are_not_json_are_saved_as_text(container: Container) -> None:
    done = container.run("import datetime\nfrom kestra import Kestra\n"
                         "Kestra.outputs({'day': datetime.date(2026, 11, 28)})\n")
    assert done.code == 0, done.stderr
    assert done.result["outputs"] == {"day": "2026-11-28"}


def test_a_link_left_among_the_outputs_is_reported(container: Container) -> None:
    done = container.run("import os\nos.makedirs('.outputs', exist_ok=True)\n"
                         "os.symlink('/etc/hostname', '.outputs/host')\n")
    assert done.code == 0, done.stderr
    [skipped] = done.result["skipped_links"]
    assert skipped["path"] == ".outputs/host" and skipped["target"] == "/etc/hostname"


def test_main_runs_outside_the_main_thread_without_signal_handling(
        container: Container) -> None:
    finished: list[int] = []
    (container.workdir / ".batchmagic/cell.py").write_text("x = 1\n")
    container.monkeypatch.setenv("BATCHMAGIC_PULL", "x")
    worker = threading.Thread(target=lambda: finished.append(bootstrap.main()))
    worker.start()
    worker.join(60)
    assert finished == [0]
    with open(container.workdir / ".batchmagic/pull.pkl", "rb") as handle:
        assert pickle.load(handle) == {"x": 1}


def test_cpu_time_counts_the_processes_the_cell_waited_for() -> None:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "sum(range(3 * 10**6))"], check=True)
    usage = bootstrap.measure_usage(started)
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert children.ru_utime + children.ru_stime > 0.02
    assert usage["cpu_seconds"] == pytest.approx(
        own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime, abs=0.02)


def test_without_pull_names_nothing_is_pulled(container: Container) -> None:
    (container.workdir / ".batchmagic/cell.py").write_text("x = 1\n")
    container.monkeypatch.delenv("BATCHMAGIC_PULL", raising=False)
    assert bootstrap.main() == 0
    result = json.loads((container.workdir / ".batchmagic/result.json").read_text())
    assert result["missing_pull"] == [] and result["ok"] is True
    assert not (container.workdir / ".batchmagic/pull.pkl").exists()


def test_values_saved_around_an_unpicklable_one_keep_protocol_4(container: Container) -> None:
    done = container.run("import threading\nlock = threading.Lock()\ngood = 1\n",
                         pull="lock,good")
    assert (container.workdir / ".batchmagic/pull.pkl").read_bytes()[:2] == b"\x80\x04"
    assert done.pulled == {"good": 1}


def test_pushed_values_that_need_other_versions_say_which(container: Container) -> None:
    manifest = {"python": "3.11.0", "modules": {"nosuchmod_for_test": "1.0"}}
    (container.workdir / ".batchmagic/env.json").write_text(json.dumps({
        "key": "k", "requirements": [], "setup": [], "python": None,
        "needs_same_python": False, "restore_sha256": None, "push_manifest": manifest}))
    (container.workdir / ".batchmagic/push.pkl").write_bytes(
        b"\x80\x04cnosuchmod_for_test\nThing\n.")
    (container.workdir / ".batchmagic/cell.py").write_text("x = 1\n")
    code = bootstrap.main()
    result = json.loads((container.workdir / ".batchmagic/result.json").read_text())
    assert code == 1
    assert result["exception_type"].endswith("PickleMismatch")
    assert result["exception_message"].startswith(
        "the --push values cannot be unpickled in the job (ModuleNotFoundError: No module "
        "named 'nosuchmod_for_test'); versions differ")
    assert "nosuchmod_for_test" in result["exception_message"].split("\n", 1)[1]


def test_results_that_cannot_be_saved_fail_the_run_and_still_say_so(
        container: Container) -> None:
    blocked = container.workdir / ".batchmagic/pull.pkl"
    blocked.mkdir()
    (blocked / "in-the-way").write_text("")
    done = container.run("x = 1\n", pull="x")
    assert done.code == 1
    assert done.result["ok"] is False
    assert done.result["exception_type"] in ("IsADirectoryError", "OSError")


def test_a_cell_that_redirects_and_closes_stdout_still_saves_its_results(
        container: Container) -> None:
    # A common cell: print to a log file through sys.stdout, close it, and never restore it.
    cell = ("import sys\nsys.stdout = open('printed.log', 'w')\nprint('to the file')\n"
            "sys.stdout.close()\nx = 1\n")
    done = container.run(cell, pull="x")
    assert done.code == 0, done.stderr
    assert done.result["ok"] is True and done.pulled == {"x": 1}
    assert (container.workdir / "printed.log").read_text() == "to the file\n"
    assert done.stdout.splitlines()[-1] == bootstrap.DONE_LINE  # on the real stdout again

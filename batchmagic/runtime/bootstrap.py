"""Runs one notebook cell inside the job's main container, as if it ran in the kernel.

Shipped by batchmagic into ``<workdir>/.batchmagic/`` next to ``cell.py`` and the optional
``push.pkl``; started as ``python /work/.batchmagic/bootstrap.py``. It:

1. changes to the work dir (``$BATCHMAGIC_WORKDIR``, default: two levels above this file) and
   creates the output dir (``$BATCHMAGIC_OUTPUT_DIR``, default ``<workdir>/.outputs``);
2. loads the pushed variables into a fresh ``__main__`` namespace;
3. runs the cell, compiled with the real path of ``cell.py`` so tracebacks show cell lines;
4. saves the variables named in ``$BATCHMAGIC_PULL`` to ``pull.pkl`` and writes ``result.json``
   (both atomically), then exits with the cell's status.

Standard library only, and Python 3.8+ syntax: the image is whatever the user chose.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib.util
import json
import os
import pickle
import re
import signal
import sys
import time
import traceback
import types
from typing import Any

try:  # imported as batchmagic.runtime.bootstrap, or run as a script next to progress_lines.py
    from . import progress_lines
except ImportError:
    import progress_lines  # type: ignore[no-redef,import-not-found]

HERE = os.path.dirname(os.path.abspath(__file__))
# Copies of batchmagic.jobdef.layout's names: this file runs in the container with the standard
# library only (tests/test_copies.py checks that the copies agree).
INTERNAL_DIR = ".batchmagic"
OUTPUT_SUBDIR = ".outputs"
# Protocol 4: every Python from 3.4 on reads it (the kernel's included), and it handles objects
# over 4 GiB.
PICKLE_PROTOCOL = 4
TERMINATED_EXIT_CODE = 128 + signal.SIGTERM


class JobTerminated(BaseException):
    """Raised in the cell when the container is asked to stop (TerminateJob sends SIGTERM)."""


def _qualified_name(kind: type) -> str:
    module = kind.__module__
    if module in ("builtins", "__main__", None):
        return kind.__qualname__
    return module + "." + kind.__qualname__


def _atomic_write(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


class _NullWriter:
    """A file that discards what is written: pickles a value just to see if it can be."""

    def write(self, data: bytes) -> int:
        return len(data)


DONE_LINE = '::{"batchmagic": {"done": true}}::'

# The work dir's path in the job definition. Where the volume is mounted elsewhere (the embedded
# emulator maps it to a scratch directory and says so in BATCHMAGIC_WORKDIR), paths under it in
# the cell - literal or rendered from {{ workingDir }} / {{ outputDir }} - are rewritten.
CONTAINER_WORKDIR = "/work"
# Not after ~ or } either: ~/work and {home}/work name another directory than the work dir.
_CONTAINER_PATH = re.compile(
    r"(?<![\w./~}-])" + re.escape(CONTAINER_WORKDIR) + r"(?=[/\s'\"`),:;\]]|$)", re.MULTILINE
)


def container_paths_to(workdir: str, source: str) -> str:
    """``source`` with the container work dir path replaced by ``workdir`` when they differ."""
    if os.path.abspath(workdir) == CONTAINER_WORKDIR:
        return source
    return _CONTAINER_PATH.sub(lambda _match: workdir, source)


class Run:
    """One cell run: the paths, the namespace and what came out of it."""

    def __init__(self) -> None:
        default_workdir = os.path.dirname(HERE)
        workdir = os.environ.get("BATCHMAGIC_WORKDIR") or default_workdir
        output_dir = os.environ.get("BATCHMAGIC_OUTPUT_DIR") or os.path.join(
            workdir, OUTPUT_SUBDIR
        )
        if not os.path.isdir(workdir):
            # The variables name the container's path; fall back to where we were staged.
            output_dir = os.path.join(default_workdir, os.path.relpath(output_dir, workdir))
            workdir = default_workdir
        self.workdir = os.path.abspath(workdir)
        self.output_dir = os.path.abspath(output_dir)
        self.internal = os.path.join(self.workdir, INTERNAL_DIR)
        if not os.path.isfile(os.path.join(self.internal, "cell.py")):
            self.internal = HERE
        self.cell_path = os.path.join(self.internal, "cell.py")
        # Where result.json and pull.pkl go (a --map item writes into its own directory).
        self.results_dir = self.internal
        self.pull_names = [
            name.strip()
            for name in os.environ.get("BATCHMAGIC_PULL", "").split(",")
            if name.strip()
        ]
        self.namespace: dict[str, Any] = {}
        self.ok = True
        self.exit_code = 0
        self.exception_type: str | None = None
        self.exception_message: str | None = None
        self.traceback_text: str | None = None
        self.missing_pull: list[str] = []
        self.unpicklable_pull: dict[str, str] = {}
        self.started = time.monotonic()
        self.usage: dict[str, float] = {}
        # The container's own clock: the main phase of the run's timeline in the kernel.
        self.started_at = time.time()
        self.pull_manifest: dict[str, Any] | None = None  # versions of what was pickled

    # -- setup -----------------------------------------------------------------------------

    def prepare(self) -> None:
        os.chdir(self.workdir)
        os.makedirs(self.output_dir, exist_ok=True)
        # `python bootstrap.py` puts this directory first on sys.path; move it last so that a
        # real `kestra` package in the image wins over the stand-in, and let the cell import
        # modules from the work dir, like a script run there.
        ours = (HERE, self.workdir)
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") not in ours]
        sys.path.insert(0, self.workdir)
        sys.path.append(HERE)
        module = types.ModuleType("__main__")
        module.__dict__.update(
            {"__file__": self.cell_path, "__builtins__": builtins, "__doc__": None}
        )
        # Replace __main__ so that classes and functions defined in the cell pickle as
        # `__main__.<name>`, exactly as they would in the kernel.
        sys.modules["__main__"] = module
        self.namespace = module.__dict__
        _runtime("envsetup").setup_job(self.internal)  # --setup commands, then packages

    def load_pushed(self) -> None:
        path = os.path.join(self.internal, "push.pkl")
        if not os.path.exists(path):
            return
        with open(path, "rb") as handle:  # a failure says which module versions differ
            pushed = _runtime("versions").load_explained(handle, self.internal)
        if not isinstance(pushed, dict):
            raise TypeError("push.pkl must hold a dict of name -> value")
        self.namespace.update(pushed)

    # -- the cell --------------------------------------------------------------------------

    def run_cell(self) -> None:
        with open(self.cell_path, encoding="utf-8") as handle:
            source = container_paths_to(self.workdir, handle.read())
        code = compile(source, self.cell_path, "exec", dont_inherit=True)
        exec(code, self.namespace)

    def record_exception(self, error: BaseException) -> None:
        if isinstance(error, SystemExit):
            code = error.code
            if code is None or code == 0:
                return  # sys.exit() / sys.exit(0): a normal end
            if isinstance(code, int):
                self.exit_code = code
            else:
                print(code, file=sys.stderr)
                self.exit_code = 1
        elif isinstance(error, JobTerminated):
            self.exit_code = TERMINATED_EXIT_CODE
        else:
            self.exit_code = 1
        self.ok = False
        self.exception_type = _qualified_name(type(error))
        self.exception_message = str(error) + _runtime("envsetup").missing_module_hint(
            error, _runtime("pypi_names").PYPI_NAMES)
        if isinstance(error, SystemExit):
            return
        self.traceback_text = self.cell_traceback(error)
        if not isinstance(error, JobTerminated):  # a stop that was asked for is no crash
            sys.stderr.write(self.traceback_text)
            sys.stderr.flush()

    def cell_traceback(self, error: BaseException) -> str:
        """The traceback of the cell's frames; the bootstrap's own frames are cut."""
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != self.cell_path:
            tb = tb.tb_next
        lines = ["Traceback (most recent call last):\n"] if tb is not None else []
        if tb is not None:
            # Frames of this file after the cell's (the SIGTERM handler) are ours too.
            own = os.path.abspath(__file__)
            frames = [f for f in traceback.extract_tb(tb) if os.path.abspath(f.filename) != own]
            lines += traceback.format_list(frames)
        lines += traceback.format_exception_only(type(error), error)
        return "".join(lines)

    # -- results ---------------------------------------------------------------------------

    def save_pulled(self) -> None:
        if not self.pull_names:
            return
        values: dict[str, Any] = {}
        for name in self.pull_names:
            if name in self.namespace:
                values[name] = self.namespace[name]
            else:
                self.missing_pull.append(name)
        path = os.path.join(self.results_dir, "pull.pkl")
        tmp = f"{path}.tmp{os.getpid()}"
        try:
            # Streamed to disk: large values are not held twice in memory.
            with open(tmp, "wb") as handle:
                pickle.dump(values, handle, protocol=PICKLE_PROTOCOL)
        except Exception:
            # Find the culprits one by one; keep everything else.
            for name in list(values):
                try:
                    pickle.dump(values[name], _NullWriter(), protocol=PICKLE_PROTOCOL)
                except Exception as error:
                    self.unpicklable_pull[name] = f"{type(error).__name__}: {error}"
                    del values[name]
            with open(tmp, "wb") as handle:
                pickle.dump(values, handle, protocol=PICKLE_PROTOCOL)
        os.replace(tmp, path)
        self.pull_manifest = _runtime("versions").manifest(values.values())
        # A stopped cell never got to define them; the kernel says the job was stopped.
        stopped = self.exit_code == TERMINATED_EXIT_CODE
        for name in [] if stopped else self.missing_pull:
            print(f"batchmagic: {name!r} is not defined after the cell; not pulled",
                  file=sys.stderr)
        for name, reason in self.unpicklable_pull.items():
            print(f"batchmagic: {name!r} cannot be pickled ({reason}); not pulled",
                  file=sys.stderr)

    def write_result(self, outputs: dict[str, Any]) -> None:
        result = {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "exception_type": self.exception_type,
            "exception_message": self.exception_message,
            "traceback": self.traceback_text,
            "outputs": outputs,
            "missing_pull": self.missing_pull,
            "unpicklable_pull": self.unpicklable_pull,
            "usage": self.usage,
            "skipped_links": _runtime("batchmagic_links").report(self.workdir),
            "started_at": self.started_at,
            "ended_at": time.time(),
            "pull_manifest": self.pull_manifest,
        }
        data = json.dumps(result, default=str, indent=2).encode("utf-8")
        _atomic_write(os.path.join(self.results_dir, "result.json"), data)


def _runtime(name: str) -> Any:
    """envsetup/versions/batchmagic_links, shipped beside this file, loaded by path once (never
    a file of the same name in the work dir, which is first on sys.path)."""
    key = name if name.startswith("batchmagic_") else "batchmagic_" + name
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, os.path.join(HERE, name + ".py"))
        sys.modules[key] = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(sys.modules[key])  # type: ignore[union-attr]
    return sys.modules[key]


def _on_sigterm(signum: int, frame: Any) -> None:
    raise JobTerminated("the job was asked to stop (SIGTERM)")


def _ignore_sigterm() -> None:
    # Once the cell is over, finish saving the results rather than die half-way.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def measure_usage(started: float) -> dict[str, float]:
    """Peak memory and CPU time of the cell (this process and the processes it waited for)."""
    wall = time.monotonic() - started
    try:
        import resource
    except ImportError:  # not on Linux
        return {}
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss is in KiB on Linux.
    return {
        "max_rss_mib": round(max(own.ru_maxrss, children.ru_maxrss) / 1024, 1),
        "cpu_seconds": round(own.ru_utime + own.ru_stime + children.ru_utime
                             + children.ru_stime, 3),
        "wall_seconds": round(wall, 3),
    }


def main() -> int:
    with contextlib.suppress(ValueError):  # only outside the main thread
        signal.signal(signal.SIGTERM, _on_sigterm)
    if os.environ.get("BATCHMAGIC_MAP_AS"):
        # One child of a --map array job: the cell runs once per item this child owns.
        sys.modules.setdefault("bootstrap", sys.modules[__name__])  # one JobTerminated class
        import mapchild  # type: ignore[import-not-found]

        return int(mapchild.main())
    run = Run()
    shaping = progress_lines.Shaping()  # \r progress bars become "replace" lines
    scanner = progress_lines.OutputScanner(sys.stdout)
    sys.stdout = scanner
    try:
        run.prepare()
        run.load_pushed()
        run.run_cell()
    except BaseException as error:
        run.record_exception(error)
    finally:
        run.usage = measure_usage(run.started)
        _ignore_sigterm()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        sys.stdout = scanner.stream
        scanner.finish()
        shaping.close()
    try:
        run.save_pulled()
    except BaseException as error:  # e.g. disk full: report it, still write the result
        if run.ok:
            run.record_exception(error)
    run.write_result(progress_lines.collected_outputs(scanner))
    sys.stderr.flush()
    # The last line: tells the kernel (which hides protocol lines) that the cell is done, so it
    # looks for the job's end now rather than at its next, slower status poll.
    sys.stdout.write(DONE_LINE + "\n")
    sys.stdout.flush()
    return 0 if run.ok else (run.exit_code or 1)


if __name__ == "__main__":
    sys.exit(main())

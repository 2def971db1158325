"""What every benchmark shares: the isolated environment, the instrumentation installed in this
process only, the shell the cells run in, and how results are printed.

The product is not modified: where a cell's time goes is read from ``run.timeline``; API call
counts come from botocore event hooks on every client ``AwsClients.client`` creates, and log
delivery times from a wrapper around ``Tail._deliver``, installed in this process only.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import platform
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MB = 1_000_000
MiB = 1024 * 1024
VENV_BIN = Path(sys.executable).parent


# ---------------------------------------------------------------------------------------------
# Small helpers


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def say(text: str = "") -> None:
    print(text, file=sys.__stdout__, flush=True)


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Swallow what the magic prints (its text display, its notices)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        yield buffer


@dataclass
class Row:
    metric: str
    ours: str
    baseline: str
    ratio: str
    target: str
    ok: bool | None


# ---------------------------------------------------------------------------------------------
# Instrumentation (this process only)


@dataclass
class Call:
    service: str
    operation: str
    start: float
    end: float | None = None


class ApiLog:
    """Every AWS API call of every client ``AwsClients.client`` creates (botocore hooks)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def install(self) -> None:
        from batchmagic.aws.clients import AwsClients

        original = AwsClients.client
        log = self

        @functools.wraps(original)
        def client(self: Any, service: str, config: Any = None) -> Any:
            made = original(self, service, config)
            made.meta.events.register("before-call", log._before)
            made.meta.events.register("after-call", log._after)
            return made

        AwsClients.client = client  # type: ignore[method-assign]

    def _before(self, model: Any = None, context: Any = None, **_: Any) -> None:
        call = Call(model.service_model.endpoint_prefix, model.name, time.perf_counter())
        if context is not None:
            context["_bench_call"] = call
        with self._lock:
            self.calls.append(call)

    def _after(self, context: Any = None, **_: Any) -> None:
        call = (context or {}).get("_bench_call")
        if call is not None:
            call.end = time.perf_counter()

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    def since(self, mark: int) -> list[Call]:
        with self._lock:
            return list(self.calls[mark:])


class RecordingDisplay:
    """A RunDisplay that records when each line reaches the kernel side, and shows nothing."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, str, float]] = []

    def attach(self, run: Any) -> None: ...
    def status(self, run: Any) -> None: ...
    def note(self, text: str) -> None: ...
    def staging(self, progress: Any) -> None: ...
    def finished(self, run: Any) -> None: ...
    def flush(self) -> None: ...

    def lines(self, container: str, lines: list[str], stream: str = "stdout") -> None:
        now = time.time()
        self.arrivals.extend((container, line, now) for line in lines)


# ---------------------------------------------------------------------------------------------
# The environment


@dataclass
class Bench:
    root: Path
    args: argparse.Namespace
    api: ApiLog
    shell: Any = None
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    delivered: list[tuple[int, str, float]] = field(default_factory=list)

    def cell(self, line: str, cell: str) -> Any:
        with quiet():
            return self.shell.run_cell_magic("aws_batch", line, cell)


def isolate(root: Path) -> None:
    """Point every piece of per-user state at ``root`` before batchmagic is imported."""
    os.environ["BATCHMAGIC_STATE_DIR"] = str(root / "state")
    os.environ["BATCHMAGIC_CONFIG"] = str(root / "config" / "settings.json")
    os.environ["IPYTHONDIR"] = str(root / "ipython")
    for name in list(os.environ):
        if name.startswith("AWS_") or (name.startswith("BATCHMAGIC_") and name not in (
                "BATCHMAGIC_STATE_DIR", "BATCHMAGIC_CONFIG")):
            del os.environ[name]
    os.environ["AWS_CONFIG_FILE"] = str(root / "aws-config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(root / "aws-credentials")


def instrument(bench: Bench) -> None:
    """API calls of every client, and when the log tails hand lines over (for the latency
    split); where a cell's time goes is read from ``run.timeline``, not from wrappers."""
    import batchmagic.aws.logs

    bench.api.install()
    original = batchmagic.aws.logs.Tail._deliver
    delivered = bench.delivered

    def deliver(self: Any, lines: list[Any]) -> None:
        now = time.time()
        delivered.extend((line.timestamp_ms, line.message, now) for line in lines)
        original(self, lines)

    batchmagic.aws.logs.Tail._deliver = deliver  # type: ignore[method-assign]


def start_shell(bench: Bench) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # no history database (it would outlive the temp dir)
    shell = InteractiveShell.instance(config=config)
    shell.run_line_magic("load_ext", "batchmagic")
    magics = shell.magics_manager.registry["AwsBatchMagics"]
    magics.display_mode = "text"
    bench.shell = shell



# ---------------------------------------------------------------------------------------------
# The AWS CLI baseline


def cli_env(bench: Bench, endpoint: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "batchmagic",
                "AWS_SECRET_ACCESS_KEY": "batchmagic", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true"})
    if not endpoint:
        env.pop("AWS_ENDPOINT_URL")
    return env



@contextlib.contextmanager
def recording_display() -> Iterator[RecordingDisplay]:
    """The magic's next runs show into a RecordingDisplay (the real path otherwise)."""
    import batchmagic.notebook.magics

    display = RecordingDisplay()
    original = batchmagic.notebook.magics.make_display
    batchmagic.notebook.magics.make_display = lambda *args, **kwargs: display
    try:
        yield display
    finally:
        batchmagic.notebook.magics.make_display = original



# ---------------------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    head = ("metric", "batchmagic", "baseline", "ratio", "target", "pass/fail")
    body = [(r.metric, r.ours, r.baseline, r.ratio, r.target,
             "-" if r.ok is None else ("PASS" if r.ok else "FAIL")) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *(line(b) for b in body)])


def machine() -> str:
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    return (f"{os.cpu_count()} CPUs, {mem:.0f} GiB RAM, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")



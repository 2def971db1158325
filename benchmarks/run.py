"""batchmagic benchmarks, side by side with a baseline, against an emulator started here.

    python benchmarks/run.py            # full run (about 3-4 minutes)
    python benchmarks/run.py --quick    # smoke run (about 1 minute)

1. trivial cell end to end (`%%aws_batch --local` of ``print(1+1)`` in a real InteractiveShell,
   warm) vs ``python -c "print(1+1)"``, with a breakdown of where the time goes;
2. staging throughput: ``staging.upload`` / ``staging.download_outputs`` vs
   ``aws s3 cp --recursive`` on the same emulator;
3. Batch + CloudWatch Logs API calls per job-minute made by the kernel side;
4. latency of a remote ``print`` until its line reaches the run's display.

Everything runs in a temporary directory with its own BATCHMAGIC_STATE_DIR, BATCHMAGIC_CONFIG and
IPYTHONDIR, so the user's ledger, settings and background emulator are never touched. The
background emulator started here (the one ``--local`` uses) is stopped at the end.

The product is not modified: timings and API call counts come from wrappers installed in this
process only (botocore event hooks on every client ``AwsClients.client`` creates, and timing
wrappers around the functions ``submit.launch`` and ``Run`` call).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
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


class Phases:
    """Wall time spent in named functions of the real code path, per run."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self.stamps: dict[str, float] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.current = defaultdict(float)
            self.stamps = {}

    def add(self, label: str, seconds: float, end: float) -> None:
        with self._lock:
            self.current[label] += seconds
            self.stamps[label] = end

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        phases = self

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                end = time.perf_counter()
                phases.add(label, end - start, time.time())

        setattr(owner, name, timed)


class RecordingDisplay:
    """A RunDisplay that records when each line reaches the kernel side, and shows nothing."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, str, float]] = []

    def attach(self, run: Any) -> None: ...
    def status(self, run: Any) -> None: ...
    def note(self, text: str) -> None: ...
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
    phases: Phases
    shell: Any = None
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    delivered: list[tuple[int, str, float]] = field(default_factory=list)
    container_seen: dict[tuple[str, str, str], float] = field(default_factory=dict)

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
    import batchmagic.aws.clients
    import batchmagic.aws.job
    import batchmagic.aws.livetail
    import batchmagic.aws.logs
    import batchmagic.notebook.magics
    import batchmagic.run.handle
    import batchmagic.run.submit

    bench.api.install()
    p = bench.phases
    p.wrap(batchmagic.notebook.magics, "prepare", "prepare (parse, template, checks)")
    p.wrap(batchmagic.notebook.magics, "resolve_target",
           "resolve target (emulator health, setup cache)")
    p.wrap(batchmagic.aws.clients.AwsClients, "shared", "boto3 clients (shared per target)")
    p.wrap(batchmagic.run.submit, "resolve_queue", "resolve queue")
    p.wrap(batchmagic.run.submit, "ensure_job_definition", "register job definition")
    p.wrap(batchmagic.run.submit, "ensure_bucket", "HeadBucket (once per kernel)")
    p.wrap(batchmagic.run.submit, "upload", "upload inputs (cell, bootstrap)")
    p.wrap(batchmagic.notebook.magics, "launch", "launch (all of submit side)")
    p.wrap(batchmagic.run.handle.BatchJob, "wait", "wait for terminal status")
    p.wrap(batchmagic.aws.job.JobWatcher, "finish", "read log streams to their end")
    p.wrap(batchmagic.aws.livetail.LiveJobWatcher, "finish", "read log streams to their end")
    p.wrap(batchmagic.run.handle, "download_outputs", "download outputs")
    p.wrap(batchmagic.run.handle, "delete_prefix", "delete run prefix")

    original_update = batchmagic.run.handle.Run._on_update
    seen = bench.container_seen

    def on_update(self: Any, snapshot: Any) -> None:
        now = time.time()
        for c in snapshot.containers:
            if c.log_stream:
                seen.setdefault((self.job_id, c.name, "started"), now)
            if c.exit_code is not None:
                seen.setdefault((self.job_id, c.name, "exited"), now)
        original_update(self, snapshot)

    batchmagic.run.handle.Run._on_update = on_update  # type: ignore[method-assign]

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
# 1. Trivial cell


def bench_trivial_cell(bench: Bench) -> None:
    runs = bench.args.runs
    say(f"== 1. trivial cell: %%aws_batch --local print(1+1), {runs} warm runs ==")
    start = time.perf_counter()
    first = bench.cell("--local", "print(1+1)")
    cold = time.perf_counter() - start
    assert first.status == "SUCCEEDED" and "2" in first.logs, first
    say(f"  cold first cell (starts the background emulator, sets it up): {fmt_s(cold)}")
    bench.rows.append(Row("cold first cell (emulator start + setup)", fmt_s(cold), "-", "-",
                          "(info)", None))

    cell_times: list[float] = []
    breakdown: list[dict[str, float]] = []
    for _ in range(runs):
        bench.phases.reset()
        mark = bench.api.mark()
        start = time.perf_counter()
        t0 = time.time()
        run = bench.cell("--local", "print(1+1)")
        elapsed = time.perf_counter() - start
        t_end = time.time()
        assert run.status == "SUCCEEDED" and run.logs == ["2"], run
        cell_times.append(elapsed)
        breakdown.append(cell_phases(bench, run, t0, t_end, elapsed, bench.api.since(mark)))

    py_times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", "print(1+1)"], capture_output=True,
                             text=True, check=True).stdout
        py_times.append(time.perf_counter() - start)
        assert out.strip() == "2"
    aws_times = []
    for _ in range(max(3, runs // 2)):
        start = time.perf_counter()
        subprocess.run([str(VENV_BIN / "aws"), "--version"], capture_output=True, check=True,
                       env=cli_env(bench, ""))
        aws_times.append(time.perf_counter() - start)
    sidecar_times = sidecar_copy_times(bench, max(3, runs // 2))

    med, p95 = statistics.median(cell_times), percentile(cell_times, 95)
    pmed, pp95 = statistics.median(py_times), percentile(py_times, 95)
    say(f"  %%aws_batch: median {fmt_s(med)}, p95 {fmt_s(p95)}, "
        f"min {fmt_s(min(cell_times))}, max {fmt_s(max(cell_times))}")
    say(f"  python -c  : median {fmt_s(pmed)}, p95 {fmt_s(pp95)}")
    say(f"  aws --version (what each sidecar container starts): median "
        f"{fmt_s(statistics.median(aws_times))}")
    say("  what one sidecar does, alone (aws s3 cp --recursive of the 3 staged files): median "
        f"{fmt_s(statistics.median(sidecar_times))}")
    say("  where a warm cell's time goes (median over runs):")
    labels = list(breakdown[0])
    for label in labels:
        values = [b.get(label, 0.0) for b in breakdown]
        shown = (f"{statistics.median(values):.0f}" if label.startswith("API calls")
                 else fmt_s(statistics.median(values)))
        say(f"    {label:<60} {shown:>9}")
    bench.rows.append(Row("trivial cell, median", fmt_s(med), fmt_s(pmed),
                          f"{med / pmed:.1f}x", "<= 1 s", med <= 1.0))
    bench.rows.append(Row("trivial cell, p95", fmt_s(p95), fmt_s(pp95),
                          f"{p95 / pp95:.1f}x", "<= 1 s", p95 <= 1.0))


def sidecar_copy_times(bench: Bench, count: int) -> list[float]:
    """``aws s3 cp --recursive`` of three small objects, as the stage-in container runs it."""
    from batchmagic.aws.clients import AwsClients
    from batchmagic.aws.staging import RunLocation, delete_prefix
    from batchmagic.run.target import resolve_target
    from batchmagic.settings import Settings

    target, settings = resolve_target(Settings().with_values(local=True))
    clients = AwsClients(target)
    location = RunLocation(settings.bucket or "", f"bench/sidecar-{os.getpid()}")
    for name in ("cell.py", "bootstrap.py", "kestra.py"):
        clients.s3.put_object(Bucket=location.bucket, Key=location.in_prefix + name,
                              Body=b"print(1+1)\n" * 100)
    times = []
    for i in range(count):
        dest = bench.root / f"sidecar-{i}"
        start = time.perf_counter()
        subprocess.run([str(VENV_BIN / "aws"), "s3", "cp", location.in_uri, str(dest),
                        "--recursive", "--only-show-errors"],
                       env=cli_env(bench, target.endpoint_url or ""), check=True)
        times.append(time.perf_counter() - start)
        shutil.rmtree(dest)
    delete_prefix(clients, location)
    return times


def cell_phases(bench: Bench, run: Any, t0: float, t_end: float, elapsed: float,
                calls: list[Call]) -> dict[str, float]:
    """One run's time split: kernel-side phases, and the job's own timeline from Batch."""
    p = dict(bench.phases.current)
    out: dict[str, float] = {}
    launch = p.pop("launch (all of submit side)", 0.0)
    for label in ("prepare (parse, template, checks)",
                  "resolve target (emulator health, setup cache)",
                  "boto3 clients (shared per target)", "resolve queue", "register job definition",
                  "HeadBucket (once per kernel)", "upload inputs (cell, bootstrap)"):
        out[label] = p.get(label, 0.0)
    submit = sum((c.end or c.start) - c.start for c in calls if c.operation == "SubmitJob")
    out["SubmitJob call"] = submit
    out["launch: rest (record, ledger, thread start)"] = launch - sum(
        out[k] for k in ("boto3 clients (shared per target)", "resolve queue",
                         "register job definition", "HeadBucket (once per kernel)",
                         "upload inputs (cell, bootstrap)", "SubmitJob call"))
    snap = run.snapshot
    created = snap.created_at.timestamp() if snap and snap.created_at else None
    started = snap.started_at.timestamp() if snap and snap.started_at else None
    stopped = snap.stopped_at.timestamp() if snap and snap.stopped_at else None
    wait_end = bench.phases.stamps.get("wait for terminal status")
    out["wait for terminal status (kernel side, total)"] = p.get("wait for terminal status", 0.0)
    if created and started and stopped and wait_end:
        out["  job: createdAt -> startedAt (queue, scheduling)"] = started - created
        out["  job: startedAt -> stoppedAt (3 containers run)"] = stopped - started
        seen = bench.container_seen
        for name in ("stage-in", "main", "stage-out"):
            began, ended = seen.get((run.job_id, name, "started")), seen.get(
                (run.job_id, name, "exited"))
            if began and ended:
                out[f"    {name}: log stream seen -> exit code seen"] = ended - began
        out["  job: stoppedAt -> kernel sees it (DescribeJobs pacing)"] = wait_end - stopped
    out["read log streams to their end"] = p.get("read log streams to their end", 0.0)
    out["download outputs"] = p.get("download outputs", 0.0)
    out["delete run prefix"] = p.get("delete run prefix", 0.0)
    accounted = launch + sum(out[k] for k in (
        "prepare (parse, template, checks)", "resolve target (emulator health, setup cache)",
        "wait for terminal status (kernel side, total)", "read log streams to their end",
        "download outputs", "delete run prefix"))
    out["other (magic parsing, thread hand-offs, display)"] = elapsed - accounted
    ops = Counter(c.operation for c in calls)
    out["API calls per cell (count, not seconds)"] = float(len(calls))
    bench.notes.append("trivial cell API calls: " + ", ".join(f"{k} {v}" for k, v in
                                                               sorted(ops.items())))
    return out


# ---------------------------------------------------------------------------------------------
# 2. Staging throughput


def cli_env(bench: Bench, endpoint: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "batchmagic",
                "AWS_SECRET_ACCESS_KEY": "batchmagic", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true"})
    if not endpoint:
        env.pop("AWS_ENDPOINT_URL")
    return env


def make_files(directory: Path, count: int, size: int) -> list[tuple[Path, str]]:
    directory.mkdir(parents=True)
    block = os.urandom(size)
    files = []
    for i in range(count):
        path = directory / f"f{i:05d}.bin"
        # Distinct contents (the first bytes differ), no compression or dedup shortcuts.
        path.write_bytes(i.to_bytes(8, "big") + block[8:])
        files.append((path, path.name))
    return files


def dir_bytes(directory: Path) -> tuple[int, int]:
    files = [p for p in directory.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def bench_staging(bench: Bench) -> None:
    from batchmagic.aws.clients import AwsClients
    from batchmagic.aws.staging import RunLocation, delete_prefix, download_outputs, upload
    from batchmagic.run.target import local_target, resolve_target
    from batchmagic.settings import Settings

    target, settings = resolve_target(Settings().with_values(local=True))
    clients = AwsClients(target)
    bucket = settings.bucket or ""
    endpoint = local_target().endpoint_url or ""
    env = cli_env(bench, endpoint)
    aws = str(VENV_BIN / "aws")
    quick = bench.args.quick
    sets = [("64 x 4 MiB" if not quick else "16 x 4 MiB", 16 if quick else 64, 4 * MiB),
            ("2000 x 4 KiB" if not quick else "500 x 4 KiB", 500 if quick else 2000, 4096)]
    say("== 2. staging throughput: batchmagic staging vs aws s3 cp --recursive "
        f"({bench.args.reps} rep(s), best of) ==")
    for label, count, size in sets:
        data = bench.root / "staging" / f"src-{count}"
        files = make_files(data, count, size)
        total = count * size
        results: dict[str, list[float]] = defaultdict(list)
        for rep in range(bench.args.reps):
            tag = f"bench/{count}-{rep}-{os.getpid()}"
            # batchmagic upload: keys land under <tag>/bm/in/dl/out/, which is the out/ half of
            # RunLocation(<tag>/bm/in/dl), so download_outputs reads the very same objects.
            up = RunLocation(bucket, f"{tag}/bm")
            down = RunLocation(bucket, f"{tag}/bm/in/dl")
            planned = [(path, "dl/out/" + key) for path, key in files]
            start = time.perf_counter()
            sent = upload(clients, up, planned, {})
            results["bm up"].append(time.perf_counter() - start)
            assert sent == total
            cli_up = f"s3://{bucket}/{tag}/cli/"
            start = time.perf_counter()
            subprocess.run([aws, "s3", "cp", "--recursive", "--only-show-errors", str(data),
                            cli_up], env=env, check=True)
            results["cli up"].append(time.perf_counter() - start)

            dest = bench.root / "staging" / f"bm-{count}-{rep}"
            start = time.perf_counter()
            got = download_outputs(clients, down, dest)
            results["bm down"].append(time.perf_counter() - start)
            assert len(got.files) == count and dir_bytes(dest) == (count, total), dir_bytes(dest)
            dest_cli = bench.root / "staging" / f"cli-{count}-{rep}"
            start = time.perf_counter()
            subprocess.run([aws, "s3", "cp", "--recursive", "--only-show-errors",
                            down.out_uri, str(dest_cli)], env=env, check=True)
            results["cli down"].append(time.perf_counter() - start)
            assert dir_bytes(dest_cli) == (count, total), dir_bytes(dest_cli)
            shutil.rmtree(dest)
            shutil.rmtree(dest_cli)
            delete_prefix(clients, RunLocation(bucket, tag))
        ceiling = server_ceiling(clients, bucket, files, f"bench/raw-{os.getpid()}")
        shutil.rmtree(data)
        for direction in ("up", "down"):
            ours, cli = min(results[f"bm {direction}"]), min(results[f"cli {direction}"])
            speedup = cli / ours
            say(f"  {label} {direction:>4}: batchmagic {ours:.2f} s ({rate(total, count, ours)})"
                f", aws s3 cp {cli:.2f} s ({rate(total, count, cli)}), speedup {speedup:.2f}x;"
                f" plain boto3 calls, 16 threads: {ceiling[direction]:.2f} s")
            name = "upload" if direction == "up" else "download"
            bench.rows.append(Row(
                f"{name} {label} ({total / MB:.0f} MB)",
                f"{ours:.2f} s, {rate(total, count, ours)}",
                f"{cli:.2f} s, {rate(total, count, cli)}",
                f"{speedup:.2f}x faster", ">= 1.5x", speedup >= 1.5))


def rate(total: int, count: int, seconds: float) -> str:
    """MB/s, and files/s when the files are small (then requests, not bytes, are the limit)."""
    if total / count >= MiB:
        return f"{total / MB / seconds:.0f} MB/s"
    return f"{total / MB / seconds:.1f} MB/s, {count / seconds:.0f} files/s"


def server_ceiling(clients: Any, bucket: str, files: list[tuple[Path, str]],
                   prefix: str) -> dict[str, float]:
    """The same objects with bare put_object/get_object from 16 threads: the emulator's pace
    with no transfer library at all (what any client can reach at best on this machine)."""
    from concurrent.futures import ThreadPoolExecutor

    from batchmagic.aws.staging import RunLocation, delete_prefix

    def put(item: tuple[Path, str]) -> None:
        clients.s3.put_object(Bucket=bucket, Key=f"{prefix}/{item[1]}", Body=item[0].read_bytes())

    def get(item: tuple[Path, str]) -> None:
        clients.s3.get_object(Bucket=bucket, Key=f"{prefix}/{item[1]}")["Body"].read()

    out = {}
    for direction, fn in (("up", put), ("down", get)):
        start = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(fn, files))
        out[direction] = time.perf_counter() - start
    delete_prefix(clients, RunLocation(bucket, prefix))
    return out


# ---------------------------------------------------------------------------------------------
# 3. API calls per job-minute, and 4. log line latency


@contextlib.contextmanager
def recording_display() -> Iterator[RecordingDisplay]:
    """The magic's next runs show into a RecordingDisplay (the real path otherwise)."""
    import batchmagic.notebook.magics

    display = RecordingDisplay()
    original = batchmagic.notebook.magics.make_display
    batchmagic.notebook.magics.make_display = lambda mode="auto": display
    try:
        yield display
    finally:
        batchmagic.notebook.magics.make_display = original


def latencies(display: RecordingDisplay, marker: str) -> list[float]:
    """Seconds from the remote print (its time.time() in the line) to arrival at the display."""
    found = []
    for container, line, arrived in display.arrivals:
        parts = line.split()
        if container == "main" and len(parts) == 3 and parts[0] == marker:
            found.append(arrived - float(parts[2]))
    return found


def ingest_split(bench: Bench, marker: str) -> tuple[list[float], list[float]]:
    """(print -> log event timestamp, log event timestamp -> poller delivery), per line."""
    ingest, poll = [], []
    for stamp_ms, message, delivered in bench.delivered:
        parts = message.split()
        if len(parts) == 3 and parts[0] == marker:
            ingest.append(stamp_ms / 1000 - float(parts[2]))
            poll.append(delivered - stamp_ms / 1000)
    return ingest, poll


def bench_calls_per_minute(bench: Bench) -> None:
    seconds = bench.args.duration
    say(f"== 3. Batch + Logs calls per job-minute: a cell printing a line every second "
        f"for {seconds} s ==")
    cell = (f"import time\nfor i in range({seconds}):\n"
            "    print('tick', i, f'{time.time():.6f}')\n    time.sleep(1)\n")
    mark = bench.api.mark()
    with recording_display() as display:
        start = time.perf_counter()
        run = bench.cell("--local", cell)
        wall = time.perf_counter() - start
    calls = bench.api.since(mark)
    assert run.status == "SUCCEEDED", run
    got = latencies(display, "tick")
    assert len(got) == seconds, f"{len(got)} of {seconds} lines arrived"
    minutes = wall / 60
    by_op = Counter((c.service, c.operation) for c in calls)
    counted = {k: v for k, v in by_op.items() if k[0] in ("batch", "logs")}
    per_minute = sum(counted.values()) / minutes
    say(f"  cell took {wall:.1f} s ({minutes:.2f} job-minutes); kernel-side calls:")
    for (service, op), n in sorted(by_op.items()):
        say(f"    {service:<6} {op:<22} {n:>4}  ({n / minutes:5.1f} per job-minute)")
    say(f"  Batch + Logs: {per_minute:.1f} per job-minute")
    say(f"  (same run) line latency: p50 {fmt_s(statistics.median(got))}, "
        f"p95 {fmt_s(percentile(got, 95))}, max {fmt_s(max(got))}")
    batch = sum(v for k, v in counted.items() if k[0] == "batch") / minutes
    logs = sum(v for k, v in counted.items() if k[0] == "logs") / minutes
    bench.rows.append(Row(f"Batch+Logs calls/job-minute ({seconds} s job)",
                          f"{per_minute:.0f} (batch {batch:.0f} + logs {logs:.0f})", "-", "-",
                          "<= 20", per_minute <= 20))
    bench.rows.append(Row(f"line latency p95, same {seconds} s job", fmt_s(percentile(got, 95)),
                          "-", "-", "(info)", None))


def bench_latency(bench: Bench) -> None:
    count, gap = bench.args.lines, bench.args.gap
    say(f"== 4. log line latency: {count} lines, one every {gap} s ==")
    cell = (f"import time\nfor i in range({count}):\n"
            "    print('lat', i, f'{time.time():.6f}')\n"
            f"    time.sleep({gap})\n")
    bench.delivered.clear()
    with recording_display() as display:
        run = bench.cell("--local", cell)
    assert run.status == "SUCCEEDED", run
    got = latencies(display, "lat")
    assert len(got) == count, f"{len(got)} of {count} lines arrived"
    ingest, poll = ingest_split(bench, "lat")
    p50, p95, worst = statistics.median(got), percentile(got, 95), max(got)
    say(f"  print -> display: p50 {fmt_s(p50)}, p95 {fmt_s(p95)}, max {fmt_s(worst)}")
    if ingest:
        say(f"    print -> log event stored (emulator): p50 {fmt_s(statistics.median(ingest))}, "
            f"max {fmt_s(max(ingest))}")
        say(f"    log event -> GetLogEvents delivers it (poller pacing): p50 "
            f"{fmt_s(statistics.median(poll))}, p95 {fmt_s(percentile(poll, 95))}, "
            f"max {fmt_s(max(poll))}")
    bench.rows.append(Row("line latency p50", fmt_s(p50), "-", "-", "(info)", None))
    bench.rows.append(Row("line latency p95", fmt_s(p95), "-", "-", "<= 1 s", p95 <= 1.0))
    bench.rows.append(Row("line latency max", fmt_s(worst), "-", "-", "(info)", None))


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


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3 cell runs, smaller staging sets, a 15 s job")
    parser.add_argument("--runs", type=int, help="warm trivial-cell runs (default 10)")
    parser.add_argument("--duration", type=int, help="seconds of the calls-per-minute job "
                        "(default 60)")
    parser.add_argument("--lines", type=int, help="lines of the latency cell (default 30)")
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between latency lines")
    parser.add_argument("--reps", type=int, help="staging repetitions, best kept (default 2)")
    parser.add_argument("--only", nargs="+", choices=["cell", "staging", "calls", "latency"],
                        help="run only these benchmarks")
    args = parser.parse_args(argv)
    quick = args.quick
    args.runs = args.runs or (3 if quick else 10)
    args.duration = args.duration or (15 if quick else 60)
    args.lines = args.lines or (15 if quick else 30)
    args.reps = args.reps or (1 if quick else 2)
    return args


BENCHMARKS: dict[str, Callable[[Bench], None]] = {
    "cell": bench_trivial_cell, "staging": bench_staging, "calls": bench_calls_per_minute,
    "latency": bench_latency,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    root = Path(tempfile.mkdtemp(prefix="batchmagic-bench-"))
    cwd = Path.cwd()
    isolate(root)
    bench = Bench(root, args, ApiLog(), Phases())
    try:
        instrument(bench)
        start_shell(bench)
        work = root / "cells"
        work.mkdir()
        os.chdir(work)
        say(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
        if "cell" not in (args.only or BENCHMARKS):
            # every benchmark needs the emulator; the first cell starts and sets it up
            start = time.perf_counter()
            bench.cell("--local", "pass")
            say(f"emulator started and set up in {fmt_s(time.perf_counter() - start)}")
        for name, fn in BENCHMARKS.items():
            if args.only is None or name in args.only:
                fn(bench)
                say()
    finally:
        os.chdir(cwd)
        from batchmagic.emulator.daemon import stop_background_emulator

        stopped = stop_background_emulator()
        shutil.rmtree(root, ignore_errors=True)
        say(f"background emulator {'stopped' if stopped else 'was not running'}; "
            f"{root} removed")
    for note in bench.notes[-1:]:
        say(note)
    say(f"load average at the end: {os.getloadavg()[0]:.1f} (1 min)")
    say()
    say(table(bench.rows))
    failed = [r for r in bench.rows if r.ok is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

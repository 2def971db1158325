"""One attempt of a job: its containers as host processes, started by their dependsOn rules.

A container starts when its dependsOn conditions hold (START: the other one started;
COMPLETE: it exited; SUCCESS: it exited 0). One whose condition can never hold is stopped
without starting, as the ECS agent does since aws/amazon-ecs-agent#3218: exit code 143 and
a ``CannotStartContainerError: dependency graph: ...`` reason; containers that depend on it
with COMPLETE then run.
The attempt ends when every essential container has stopped; the non-essential ones still
running are then stopped (SIGTERM to the process group, SIGKILL after a grace period), as ECS
stops a task. Output goes line by line into the container's CloudWatch log stream.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import IO

from batchmagic.emulator import forkserver, reaper
from batchmagic.emulator.forkserver import ForkedProcess
from batchmagic.emulator.launch import container_argv, container_environment
from batchmagic.emulator.logsink import DEFAULT_LOG_GROUP, LogSink
from batchmagic.emulator.models import ContainerRun, Job
from batchmagic.emulator.secrets import resolve_secrets

STOP_GRACE_S = 3.0
# Docker's exit code for a container stopped by SIGTERM; ECS reports it for a container whose
# dependencies can never hold (it never ran).
DEPENDENCY_EXIT_CODE = 143


class AttemptEnd(Enum):
    """How an attempt ended; the value is the statusReason AWS gives for it."""

    ESSENTIAL_EXITED = "Essential container in task exited"
    TIMED_OUT = "Job attempt duration exceeded timeout"
    STOPPED = "Terminated"  # TerminateJob / CancelJob: their own reason is used
    EMULATOR_STOPPED = "Emulator stopped"


@dataclass(frozen=True)
class AttemptResult:
    """The outcome of one attempt: did it succeed, how did it end, with which statusReason."""

    succeeded: bool
    end: AttemptEnd
    reason: str

    @property
    def final(self) -> bool:
        """Timeouts and terminations are not retried (only essential exits are)."""
        return self.end is not AttemptEnd.ESSENTIAL_EXITED


def dependency_reason(run: ContainerRun, target: ContainerRun) -> str:
    """The ECS agent's reason for a container whose dependsOn can never hold."""
    def label(r: ContainerRun) -> str:
        return f"{r.spec.name}({r.spec.detail.get('image', '')})"

    return (f"CannotStartContainerError: dependency graph: failed to resolve container ordering "
            f"dependency [{label(target)} (STOPPED->RUNNING) - Exit: {target.exit_code}] for "
            f"target [{label(run)} (NONE->RUNNING)] as dependency did not exit successfully")


def kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _exit_code(returncode: int) -> int:
    """Docker reports a signal death as 128 + signal number."""
    return 128 - returncode if returncode < 0 else returncode


class TaskAttempt:
    """Run one attempt of ``job`` in a fresh scratch directory."""

    def __init__(self, job: Job, attempt: int, *, endpoint_url: str, sink: LogSink,
                 scratch_root: str, ce_name: str, lock: threading.RLock,
                 on_running: Callable[[], None]) -> None:
        self.job, self.attempt, self.endpoint_url = job, attempt, endpoint_url
        self.sink, self.lock, self.on_running, self.ce_name = sink, lock, on_running, ce_name
        self.scratch = tempfile.mkdtemp(prefix=f"{job.job_id.replace(':', '-')}-{attempt}-",
                                        dir=scratch_root)
        self.task_id = (job.task_arn or "").rsplit("/", 1)[-1]
        self.events: queue.Queue[ContainerRun] = queue.Queue()
        self.closed = False
        self._threads: list[threading.Thread] = []

    # -- volumes, streams, environment --------------------------------------------------
    def volume_map(self, run: ContainerRun) -> dict[str, str]:
        volumes = self.job.task.get("volumes") or []
        known = {v.get("name") for v in volumes}
        mapping: dict[str, str] = {}
        for mount in run.spec.detail.get("mountPoints") or []:
            source, path = mount.get("sourceVolume"), mount.get("containerPath")
            if source in known and path:
                host = Path(self.scratch, "volumes", str(source))
                host.mkdir(parents=True, exist_ok=True)
                mapping[str(path)] = str(host)
        return mapping

    def log_target(self, run: ContainerRun) -> tuple[str, str]:
        """Group and stream: ``<prefix>/<container name>/<task id>``; the prefix is the job
        definition name unless the container's awslogs options say otherwise."""
        config = run.spec.detail.get("logConfiguration") or {}
        options = config.get("options") or {} if config.get("logDriver") == "awslogs" else {}
        group = options.get("awslogs-group") or DEFAULT_LOG_GROUP
        prefix = options.get("awslogs-stream-prefix") or self.job.definition.name
        return group, f"{prefix}/{run.spec.name}/{self.task_id}"

    def marker(self, container: str = "") -> str:
        """This attempt's (or one container's) marker: see ``reaper.py``."""
        return reaper.marker_value(os.path.basename(self.scratch), container)

    def batch_env(self) -> dict[str, str]:
        env = {"AWS_BATCH_JOB_ID": self.job.job_id, "AWS_BATCH_JQ_NAME": self.job.queue.name,
               "AWS_BATCH_CE_NAME": self.ce_name, "AWS_BATCH_JOB_ATTEMPT": str(self.attempt)}
        if self.job.array_index is not None:
            env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(self.job.array_index)
        return env

    # -- one container -------------------------------------------------------------------
    def start(self, run: ContainerRun) -> None:
        group, stream = self.log_target(run)
        self.sink.open_stream(group, stream)
        mapping = self.volume_map(run)
        job_env = {e["name"]: e.get("value", "") for e in run.spec.detail.get("environment") or []}
        secret_env, secret_failure = resolve_secrets(run.spec.detail.get("secrets") or [],
                                                     self.endpoint_url, self.job.region)
        job_env.update(secret_env)
        home = Path(self.scratch, "home", run.spec.name)
        home.mkdir(parents=True, exist_ok=True)
        image = run.spec.detail.get("image", "")
        env = container_environment(endpoint_url=self.endpoint_url, region=self.job.region,
                                    job_env=job_env, batch_env=self.batch_env(),
                                    volume_map=mapping, home=str(home), image=image)
        env[reaper.MARKER] = self.marker(run.spec.name)
        argv, why = container_argv(image,
                                   list(run.spec.detail.get("command") or []), mapping, env)
        if secret_failure:
            argv, why = None, secret_failure
        with self.lock:
            run.log_stream, run.state = stream, "RUNNING"
            proc = None if argv is None or self.closed else self._popen(argv, env, run)
            if proc is None:
                why = why or "CannotStartContainerError: the task is stopping"
                run.state, run.exit_code, run.reason = "STOPPED", 127, why
        if proc is None:
            self.sink.write(group, stream, why)
            self.events.put(run)
            return
        self._spawn(self._pump, proc.stdout, group, stream)
        self._spawn(self._wait, proc, run)

    def _popen(self, argv: list[str], env: dict[str, str],
               run: ContainerRun) -> subprocess.Popen[bytes] | ForkedProcess | None:
        try:
            if forkserver.wanted(argv[0]):
                proc: subprocess.Popen[bytes] | ForkedProcess = forkserver.shared().spawn(
                    argv, env, self.scratch)
            else:
                proc = subprocess.Popen(argv, cwd=self.scratch, env=env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            run.reason = f"CannotStartContainerError: {exc}"
            return None
        run.pid = proc.pid
        return proc

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _pump(self, pipe: IO[bytes], group: str, stream: str) -> None:
        """Each line of output becomes a log event as soon as it is written."""
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line:  # the awslogs driver does not send empty messages
                self.sink.write(group, stream, line)
        pipe.close()

    def _wait(self, proc: subprocess.Popen[bytes] | ForkedProcess, run: ContainerRun) -> None:
        code = proc.wait()
        # A container ends with its main process: its group, and whatever left the group.
        kill_group(proc.pid, signal.SIGKILL)
        reaper.kill_marked(self.marker(run.spec.name), signal.SIGKILL)
        # Report the exit only once the output is in the log stream (the pump closes the pipe).
        deadline = time.monotonic() + 2
        while proc.stdout is not None and not proc.stdout.closed and time.monotonic() < deadline:
            time.sleep(0.002)
        with self.lock:
            run.exit_code, run.state = _exit_code(code), "STOPPED"
        self.events.put(run)

    # -- the attempt ---------------------------------------------------------------------
    def _verdict(self, run: ContainerRun) -> tuple[str, ContainerRun | None]:
        """('go' | 'wait' | 'never', the container that makes it 'never') for a pending
        container, from its dependsOn conditions."""
        by_name = {r.spec.name: r for r in self.job.runs}
        verdict = "go"
        for target_name, condition in run.spec.depends_on:
            target = by_name[target_name]
            exited = target.state == "STOPPED" and target.exit_code is not None
            if target.state == "STOPPED" and target.exit_code is None:
                return "never", target  # the task is stopping: it will never start
            if condition == "START":
                ok = target.state == "RUNNING" or exited
            elif condition == "COMPLETE":
                ok = exited
            else:  # SUCCESS
                if exited and target.exit_code != 0:
                    return "never", target
                ok = exited
            if not ok:
                verdict = "wait"
        return verdict, None

    def _schedule(self) -> None:
        progress = True
        while progress:
            progress = False
            for run in self.job.runs:
                if run.state != "PENDING":
                    continue
                verdict, blocker = self._verdict(run)
                if verdict == "go":
                    self.start(run)
                    progress = True
                elif verdict == "never" and blocker is not None:
                    with self.lock:
                        run.state = "STOPPED"
                        if blocker.exit_code is not None:
                            run.exit_code = DEPENDENCY_EXIT_CODE
                            run.reason = dependency_reason(run, blocker)
                        else:
                            run.reason = blocker.reason
                    self.events.put(run)
                    progress = True

    def run(self, deadline: float | None) -> AttemptResult:
        """Run the attempt to its end."""
        try:
            return self._run(deadline)
        finally:
            self.close()

    def _run(self, deadline: float | None) -> AttemptResult:
        essentials = [r for r in self.job.runs if r.spec.essential]
        running_reported = False
        while True:
            self._schedule()
            if not running_reported and any(r.pid is not None for r in self.job.runs):
                running_reported = True
                self.on_running()
            if all(r.state == "STOPPED" for r in essentials):
                break
            if self.job.stop_event.is_set():
                reason = self.job.stop_reason or AttemptEnd.STOPPED.value
                self.stop_all(reason)
                return AttemptResult(False, AttemptEnd.STOPPED, reason)
            if deadline is not None and time.monotonic() >= deadline:
                self.stop_all(AttemptEnd.TIMED_OUT.value)
                return AttemptResult(False, AttemptEnd.TIMED_OUT, AttemptEnd.TIMED_OUT.value)
            with contextlib.suppress(queue.Empty):
                self.events.get(timeout=0.05)
        self.stop_all("Task stopped: its essential containers exited")
        failed = [r for r in essentials if r.exit_code != 0]
        end = AttemptEnd.ESSENTIAL_EXITED
        return AttemptResult(not failed, end, end.value)

    def stop_all(self, reason: str) -> None:
        """Stop every container: pending ones never start, running ones get SIGTERM, then
        SIGKILL after the grace period."""
        with self.lock:
            self.closed = True
            for run in self.job.runs:
                if run.state == "PENDING":
                    run.state, run.reason = "STOPPED", reason
            running = [r for r in self.job.runs if r.state == "RUNNING" and r.pid is not None]
            for run in running:
                run.reason = run.reason or reason
        for run in running:
            kill_group(run.pid or 0, signal.SIGTERM)
        reaper.kill_marked(self.marker(), signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while any(r.state == "RUNNING" for r in running) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.kill_now()

    def kill_now(self) -> None:
        """SIGKILL every process group still alive (also used when the emulator stops)."""
        with self.lock:
            self.closed = True
            pids = [r.pid for r in self.job.runs if r.state == "RUNNING" and r.pid]
        for pid in pids:
            kill_group(pid, signal.SIGKILL)
        reaper.kill_marked(self.marker(), signal.SIGKILL)

    def close(self) -> None:
        self.kill_now()
        for thread in self._threads:
            thread.join(timeout=3)
        shutil.rmtree(self.scratch, ignore_errors=True)

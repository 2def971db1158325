"""A warm AWS CLI for the emulator's sidecars.

Every batchmagic job runs the AWS CLI twice (stage-in, stage-out), and a fresh ``aws`` process
spends most of its half second importing awscli and botocore. The fork server imports them once
and forks a child per ``aws`` command: the child is still the real AWS CLI (``awscli.clidriver``)
with the container's argv, environment, working directory and its own process group; only the
import is shared. Anything that is not the emulator's own ``aws`` runs as a plain process.

Protocol over a Unix socket, one connection per command: the emulator sends one JSON line
``{"argv": [...], "env": {...}, "cwd": "..."}`` together with two file descriptors (stdin and
stdout/stderr, via SCM_RIGHTS); the server answers ``pid\\n`` once forked and ``returncode\\n``
(negative for a signal, as subprocess does) when the child has exited.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from typing import IO, Any

_MAX_HEADER = 1 << 20
_shared: AwsCliForkServer | None = None
_shared_lock = threading.Lock()


def own_aws_cli() -> str:
    """The `aws` installed beside this Python: the CLI the fork server imports."""
    return os.path.join(os.path.dirname(sys.executable), "aws")


def wanted(executable: str) -> bool:
    """Fork this command from the warm CLI? Set BATCHMAGIC_EMULATOR_FORK_AWS=0 to never do so."""
    return executable == own_aws_cli() and os.environ.get("BATCHMAGIC_EMULATOR_FORK_AWS") != "0"


def shared() -> AwsCliForkServer:
    """The process-wide fork server (stateless, so every emulator in the process shares it)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = AwsCliForkServer()
            atexit.register(_shared.close)
        return _shared


class ForkedProcess:
    """The handle the emulator keeps for a forked ``aws``: a subset of subprocess.Popen."""

    def __init__(self, pid: int, stdout: IO[bytes], connection: socket.socket) -> None:
        self.pid = pid
        self.stdout: IO[bytes] | None = stdout
        self.returncode: int | None = None
        self._connection = connection
        self._reader = connection.makefile("rb")

    def wait(self) -> int:
        if self.returncode is None:
            line = self._reader.readline()
            # A server that died takes its children's exit status with it: report a kill.
            self.returncode = int(line) if line.strip() else -signal.SIGKILL
            self._reader.close()
            self._connection.close()
        return self.returncode


class AwsCliForkServer:
    """Starts the fork server process on first use; ``spawn`` runs one ``aws`` command."""

    def __init__(self) -> None:
        self._directory = tempfile.mkdtemp(prefix="batchmagic-awscli-")
        self.socket_path = os.path.join(self._directory, "fork.sock")
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _ensure_started(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                return
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket_path)
            # No AWS_* variables: nothing of the host's AWS settings may linger in the warm
            # session that every child starts from (each child gets its container's own).
            clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            self._process = subprocess.Popen(
                [sys.executable, "-m", "batchmagic.emulator.forkserver", self.socket_path],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, start_new_session=True,
                env=clean,
            )
            assert self._process.stdout is not None
            if self._process.stdout.readline().strip() != b"ready":
                self._process.kill()
                raise OSError("the AWS CLI fork server did not start")

    def start(self) -> None:
        """Start the server process now (else the first ``spawn`` does, and waits for it)."""
        self._ensure_started()

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str) -> ForkedProcess:
        """Run ``argv`` (``aws ...``) as the real AWS CLI in a forked child."""
        self._ensure_started()
        read_end, write_end = os.pipe()
        devnull = os.open(os.devnull, os.O_RDONLY)
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(self.socket_path)
            header = json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode() + b"\n"
            socket.send_fds(connection, [header], [devnull, write_end])
            reply = connection.makefile("rb")
            pid_line = reply.readline()
            reply.close()
            if not pid_line.strip():
                raise OSError("the AWS CLI fork server refused the command")
        except BaseException:
            os.close(read_end)
            connection.close()
            raise
        finally:
            os.close(write_end)
            os.close(devnull)
        return ForkedProcess(int(pid_line), os.fdopen(read_end, "rb"), connection)

    def close(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                self._process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(timeout=5)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket_path)
            with contextlib.suppress(OSError):
                os.rmdir(self._directory)


# --- the server process ----------------------------------------------------------------------


def _run_child(request: dict[str, Any], stdin_fd: int, out_fd: int) -> None:
    """In the forked child: become the container's `aws` process. Never returns."""
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.dup2(stdin_fd, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.chdir(request["cwd"])
        # Importing awscli set AWS_DATA_PATH (where its own models live); keep it.
        data_path = os.environ.get("AWS_DATA_PATH")
        os.environ.clear()
        os.environ.update(request["env"])
        if data_path is not None:
            os.environ["AWS_DATA_PATH"] = data_path
        sys.argv = ["aws", *request["argv"][1:]]
        code = _warm_driver.main(request["argv"][1:]) if _warm_driver else _cli_main()
    except SystemExit as exit_request:
        code = exit_request.code if isinstance(exit_request.code, int) else 1
    except BaseException as error:  # report, as the CLI would, then exit non-zero
        with contextlib.suppress(Exception):
            sys.stderr.write(f"{type(error).__name__}: {error}\n")
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _accept(listener: socket.socket, children: dict[int, socket.socket]) -> None:
    connection, _ = listener.accept()
    try:
        message, fds, _flags, _address = socket.recv_fds(connection, _MAX_HEADER, 2)
        request = json.loads(message)
        stdin_fd, out_fd = fds
    except (OSError, ValueError):
        connection.close()
        return
    pid = os.fork()
    if pid == 0:
        listener.close()
        _run_child(request, stdin_fd, out_fd)
    os.close(stdin_fd)
    os.close(out_fd)
    connection.sendall(f"{pid}\n".encode())
    children[pid] = connection


def _reap(children: dict[int, socket.socket]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = children.pop(pid, None)
        if connection is not None:
            code = os.waitstatus_to_exitcode(status)
            with contextlib.suppress(OSError):
                connection.sendall(f"{code}\n".encode())
            connection.close()


_warm_driver: Any = None


def _cli_main() -> int:
    from awscli.clidriver import main

    return int(main())


def _warm_up() -> None:
    """Import the CLI and build its driver, command table and S3 model once; each fork starts
    from here. The warm-up client gets explicit placeholder credentials and region, so that no
    credentials, region or endpoint are resolved (and cached) before a child has its
    container's environment: those are read when the child's own clients are made."""
    global _warm_driver
    import awscli.clidriver

    driver = awscli.clidriver.create_clidriver()
    driver._get_command_table()
    driver.session.create_client("s3", region_name="us-east-1", aws_access_key_id="warm-up",
                                 aws_secret_access_key="warm-up")
    _warm_driver = driver


def serve(socket_path: str) -> None:
    _warm_up()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(wake_read, selectors.EVENT_READ, "signal")
    children: dict[int, socket.socket] = {}
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while not stop.is_set():
        for key, _ in selector.select(timeout=1.0):
            if key.data == "accept":
                _accept(listener, children)
            else:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_read, 4096)
        _reap(children)


if __name__ == "__main__":
    serve(sys.argv[1])

"""`batchmagic emulator`: serve the embedded AWS emulator (foreground, or a per-user daemon)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4566,
                        help="port (default 4566; 0 = any free port)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--background", action="store_true",
                      help="start (or reuse) the per-user background emulator and print its URL")
    mode.add_argument("--stop", action="store_true",
                      help="stop the per-user background emulator")
    parser.add_argument("--faults", default=None, metavar="SPEC",
                        help="inject latency and failures, e.g. \"latency=150ms±50,throttle=0.2,"
                             "error=0.05,reset=0.02,after=0.5,seed=7\" (default: "
                             "$BATCHMAGIC_EMULATOR_FAULTS; see the emulator README)")
    parser.add_argument("--idle-stop", type=float, default=0, metavar="SECONDS",
                        help="stop after this long without a request or a job (0 = never; "
                             "the background emulator: $BATCHMAGIC_EMULATOR_IDLE_STOP, "
                             "default 7200)")
    parser.add_argument("--state-file", default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    if args.faults and (args.background or args.stop):
        print("batchmagic emulator: --faults applies to a foreground emulator "
              "(or set BATCHMAGIC_EMULATOR_FAULTS before the background one starts)")
        return 2
    if args.background:
        from batchmagic.emulator.daemon import ensure_background_emulator

        url = ensure_background_emulator()
        print(url)
        return 0
    if args.stop:
        from batchmagic.emulator.daemon import stop_background_emulator

        stopped = stop_background_emulator()
        print(f"stopped {stopped} background emulator{'s' if stopped > 1 else ''}" if stopped
              else "no background emulator")
        return 0
    return serve(args.host, args.port, args.state_file, args.faults, args.idle_stop)


def serve(host: str, port: int, state_file: str | None, faults: str | None = None,
          idle_stop_s: float = 0) -> int:
    """Serve in the foreground until SIGINT or SIGTERM."""
    import os
    import signal
    import threading
    from pathlib import Path

    from batchmagic.emulator.images import bare_python_ready

    # A new user's Python image environment is made (once) while the emulator's modules load:
    # its subprocesses use the other core meanwhile, and the first job needs both.
    threading.Thread(target=bare_python_ready, name="batchmagic-bare-python", daemon=True).start()

    from batchmagic.emulator.faults import FaultSpec, FaultSpecError
    from batchmagic.emulator.server import EmulatorServer
    from batchmagic.emulator.warmup import return_freed_memory

    try:
        text = faults or os.environ.get("BATCHMAGIC_EMULATOR_FAULTS", "")
        spec = FaultSpec.parse(text) if text else None
    except FaultSpecError as error:
        print(f"batchmagic emulator: {error}")
        return 2
    return_freed_memory()  # this process is the emulator's own: tune its allocator
    server = EmulatorServer(host, port, faults=spec, warm_up=True)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        if state_file:
            from batchmagic.emulator.daemon import write_state

            write_state(server.url, Path(state_file))
        print(f"batchmagic emulator at {server.url}  (export AWS_ENDPOINT_URL={server.url})",
              flush=True)
        if spec is not None:
            print(f"injecting faults: {spec.describe()}", flush=True)
        while not stop.wait(0.5):
            if idle_stop_s and server.idle_seconds() >= idle_stop_s:
                print(f"batchmagic emulator: idle for {idle_stop_s:g} s, stopping", flush=True)
                break
    finally:
        server.stop()
        if state_file:
            from batchmagic.emulator.daemon import clear_state

            clear_state(Path(state_file))
    return 0

"""`batchmagic emulator`: serve the embedded AWS emulator (foreground, or a per-user daemon)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4566,
                        help="port (default 4566; 0 = any free port)")


def run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from batchmagic.emulator.server import EmulatorServer

    server = EmulatorServer(args.host, args.port)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"batchmagic emulator at {server.url}  (export AWS_ENDPOINT_URL={server.url})",
          flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0

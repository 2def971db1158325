"""The embedded AWS emulator: moto for S3/Logs/IAM/STS/EC2, our own AWS Batch that really runs jobs.

This package's import is kept light (``batchmagic emulator --help`` must not load moto); the
server modules are imported when an emulator starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def run_emulator(host: str = "127.0.0.1", port: int = 0, *,
                 min_timeout_s: int | None = None, faults: str | None = None) -> Iterator[str]:
    """Serve the emulator in a background thread of this process; yield its endpoint URL.

    ``min_timeout_s`` is the smallest accepted ``timeout.attemptDurationSeconds`` (AWS: 60;
    default: $BATCHMAGIC_EMULATOR_MIN_TIMEOUT, else 60) so tests can use short timeouts.

    ``faults`` injects latency and failures, e.g. ``"latency=150ms±50,throttle=0.2,error=0.05,
    reset=0.02,after=0.5,seed=7"`` (see ``batchmagic.emulator.faults``); a bad value raises
    ``ValueError`` naming the part.

    On exit the server stops, every running job's processes are killed and scratch dirs removed.
    """
    from batchmagic.emulator.faults import FaultSpec
    from batchmagic.emulator.server import EmulatorServer

    spec = FaultSpec.parse(faults) if faults else None
    server = EmulatorServer(host, port, min_timeout_s, faults=spec)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


__all__ = ["run_emulator"]

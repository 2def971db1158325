"""``%aws_batch_logs JOB [--container C] [--tail N]``: a job's whole log, read from CloudWatch.

The widget shows a bounded tail; this prints every line of one container (progress bars at their
final state), for a run of this kernel or any batchmagic job found in the ledger or by its id.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from batchmagic.aws.clients import AwsTarget
from batchmagic.aws.job import BatchJob
from batchmagic.aws.readlog import read_stream
from batchmagic.errors import ConfigurationError
from batchmagic.jobdef.layout import MAIN
from batchmagic.ledger import Ledger
from batchmagic.notebook.attach import find_record
from batchmagic.run.logbook import ContainerLog
from batchmagic.run.outputs import parse_protocol_line


def job_log(ledger: Ledger, job: str, container: str, fallback: AwsTarget,
            output_dir: Path) -> tuple[ContainerLog, bool]:
    """Every line of one container of a job, from its CloudWatch log stream, and whether the
    job has ended (then no more lines will come)."""
    record, clients = find_record(ledger, job, fallback, output_dir)
    snapshot = BatchJob(clients, record.job_id).describe()
    state = snapshot.container(container)
    if state is None:
        names = ", ".join(c.name for c in snapshot.containers)
        raise ConfigurationError(f"job {record.job_id} has no container {container!r} "
                                 f"(it has: {names})")
    log = ContainerLog(container)
    if state.log_stream:
        for message in read_stream(clients, state.log_stream):
            if container == MAIN and parse_protocol_line(message) is not None:
                continue  # outputs and the bootstrap's last line, hidden as in run.logs
            log.add(message)
    return log, snapshot.status.is_terminal


def print_log(log: ContainerLog, tail: int | None, out: Callable[[str], None] = print,
              ended: bool = False) -> None:
    if not len(log):
        out(f"batchmagic: {log.name} wrote no log lines" if ended
            else f"batchmagic: no log lines for {log.name} (yet)")
        return
    lines = log.tail(tail) if tail else list(log)
    if len(lines) < len(log):
        out(f"batchmagic: last {len(lines):,} of {len(log):,} lines")
    out("\n".join(lines))

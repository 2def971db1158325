"""Ctrl-C in the upload and the download phases: stops at once, leaves no partial file or
object, binds nothing later, and the one line says what arrived and how to fetch the rest."""

from __future__ import annotations

import _thread
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from batchmagic.aws.clients import AwsClients
from batchmagic.run.target import resolve_target
from batchmagic.settings import Settings
from tests.helpers import job_count, key_count, object_count

MANY_FILES = (
    "import os\nos.makedirs('big', exist_ok=True)\n"
    "for i in range(150):\n"
    "    open(f'big/{i:03}.bin', 'wb').write(os.urandom(512 * 1024))\n"
    "downloaded_answer = 42\n"
)


def _interrupt_while_downloading(magics: Any) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        runs = magics.runs
        if runs and getattr(runs[-1], "_downloading", False):
            _thread.interrupt_main()
            return
        time.sleep(0.005)


def test_ctrl_c_during_the_download_stops_it_and_binds_nothing(
        ip: Any, tmp_path: Path, local_clients: AwsClients) -> None:
    magics = ip.magics_manager.registry["AwsBatchMagics"]
    ip.user_ns.pop("downloaded_answer", None)
    watcher = threading.Thread(target=_interrupt_while_downloading, args=(magics,))
    watcher.start()
    with pytest.raises(KeyboardInterrupt) as caught:
        ip.run_cell_magic(
            "aws_batch", "--local --outputs 'big/*' --pull downloaded_answer --output-dir out",
            MANY_FILES)
    watcher.join()
    shown = caught.value._render_traceback_()  # type: ignore[attr-defined]
    assert len(shown) == 1, shown
    run = magics.runs[-1]
    assert shown[0].startswith("KeyboardInterrupt: download stopped: "), shown
    assert f"%aws_batch_attach {run.job_id}" in shown[0]
    assert run.location.out_uri in shown[0]
    deadline = time.monotonic() + 30
    while not run.done:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ip.run_cell("pass")  # where a finished run's variables would be bound
    assert "downloaded_answer" not in ip.user_ns
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert not [p for p in written if ".part" in p.name], written
    assert sorted(written) == sorted(run.files)
    assert len(run.files) < 150
    kept = local_clients.s3.list_objects_v2(Bucket=run.location.bucket,
                                            Prefix=run.location.out_prefix)
    assert kept["KeyCount"] > 0  # the rest is still there for an attach


def _interrupt_while_uploading(clients: AwsClients, bucket: str, before: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if key_count(clients, bucket) > before + 5:  # the inputs are on their way
            _thread.interrupt_main()
            return
        time.sleep(0.01)


def test_ctrl_c_during_the_upload_submits_nothing_and_leaves_nothing(
        ip: Any, tmp_path: Path, local_clients: AwsClients) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for i in range(300):
        (data / f"{i:03}.bin").write_bytes(bytes(256 * 1024))
    bucket = resolve_target(Settings(local=True))[1].bucket  # the emulator's, set up
    assert bucket
    jobs = job_count(local_clients)
    before = key_count(local_clients, bucket)
    watcher = threading.Thread(target=_interrupt_while_uploading,
                               args=(local_clients, bucket, before))
    watcher.start()
    with pytest.raises(KeyboardInterrupt) as caught:
        ip.run_cell_magic("aws_batch", "--local --inputs data", "pass")
    watcher.join()
    shown = caught.value._render_traceback_()  # type: ignore[attr-defined]
    assert len(shown) == 1 and shown[0].startswith(
        "KeyboardInterrupt: upload interrupted: nothing was submitted"), shown
    assert job_count(local_clients) == jobs
    assert key_count(local_clients, bucket) == before


class _SlowToPickle:
    """Pickling it takes long: a stand-in for a slow step of preparing a run."""

    def __reduce__(self) -> tuple[Any, ...]:
        for _ in range(200):  # short sleeps: an interrupt is seen between two of them
            time.sleep(0.1)
        return (int, ())


def test_ctrl_c_while_the_run_is_prepared_is_one_line_and_sends_nothing(
        ip: Any, local_clients: AwsClients) -> None:
    ip.run_cell_magic("aws_batch", "--local", "pass")  # the emulator is set up beforehand
    jobs, objects = job_count(local_clients), object_count(local_clients)
    ip.user_ns["slow"] = _SlowToPickle()
    threading.Timer(0.5, _thread.interrupt_main).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt) as caught:
        ip.run_cell_magic("aws_batch", "--local --push slow", "pass")
    assert time.monotonic() - started < 10
    shown = caught.value._render_traceback_()  # type: ignore[attr-defined]
    assert shown == ["KeyboardInterrupt: interrupted while preparing the run (checks, packages): "
                     "nothing was uploaded or submitted"], shown
    assert (job_count(local_clients), object_count(local_clients)) == (jobs, objects)

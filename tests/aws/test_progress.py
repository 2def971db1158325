"""What a person sees of a transfer: nothing when it is short, then a few updates a second."""

from __future__ import annotations

from batchmagic.aws.progress import ProgressMeter, TransferProgress


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _at(done: int, elapsed: float, total: int = 1000, files: int = 0) -> TransferProgress:
    return TransferProgress("upload", done, total, files, 4, elapsed)


def test_a_transfer_over_within_the_delay_shows_nothing() -> None:
    clock, shown = FakeClock(), []
    meter = ProgressMeter(shown.append, delay=1.0, clock=clock)
    for step in range(1, 10):
        clock.now += 0.1
        meter(_at(step * 100, step * 0.1))
    meter(_at(1000, 0.95, files=4))
    meter.close()
    assert shown == []
    assert not meter.shown


def test_a_long_transfer_updates_a_few_times_a_second_and_ends_finished() -> None:
    clock, shown = FakeClock(), []
    meter = ProgressMeter(shown.append, delay=1.0, interval=0.25, clock=clock)
    for step in range(1, 301):  # 3 s of callbacks, 100 a second
        clock.now += 0.01
        meter(_at(step * 3, step * 0.01, total=900))
    meter.close()
    # 2 s shown (after the 1 s delay) at most 4 a second, plus the final state.
    assert 5 <= len(shown) <= 10, len(shown)
    assert shown[-1].finished and shown[-1].bytes_done == 900
    assert not any(p.finished for p in shown[:-1])
    assert [p.bytes_done for p in shown] == sorted(p.bytes_done for p in shown)


def test_what_is_shown_never_goes_backwards() -> None:
    clock, shown = FakeClock(), []
    meter = ProgressMeter(shown.append, delay=0.0, interval=0.0, clock=clock)
    for done in (100, 300, 200, 400):  # a retried part takes its bytes back
        clock.now += 0.5
        meter(_at(done, clock.now - 100))
    assert [p.bytes_done for p in shown] == [100, 300, 400]


def test_the_eta_follows_the_recent_rate_not_a_slow_start() -> None:
    clock, shown = FakeClock(), []
    meter = ProgressMeter(shown.append, delay=0.0, interval=0.0, clock=clock)
    meter(_at(10, 5.0))  # 5 s to get the first bytes out
    assert shown[0].eta is None  # no recent rate yet
    for second in range(6, 12):
        clock.now += 1
        meter(_at(10 + (second - 5) * 100, float(second)))
    latest = shown[-1]
    assert latest.rate > 90  # about 100 B/s lately, against ~55 B/s on average
    assert latest.eta is not None and latest.eta < 4


def test_progress_fraction_and_completion() -> None:
    half = TransferProgress("download", 50, 100, 1, 2, 1.0)
    assert half.fraction == 0.5 and not half.complete
    empty = TransferProgress("download", 0, 0, 3, 3, 0.1)
    assert empty.fraction == 1.0 and empty.complete

"""run.timeline from the kernel's marks and the job's own times: ordered, contiguous, clamped."""

from __future__ import annotations

import datetime
import itertools

import pytest

from batchmagic.aws.job import JobSnapshot
from batchmagic.run.timeline import (
    PHASES,
    JobTimes,
    Phase,
    PhaseClock,
    Timeline,
    build_timeline,
)

T0 = 1_800_000_000.0
KERNEL = {"prepare": T0, "upload": T0 + 1, "submit": T0 + 3, "queue": T0 + 3.5,
          "download": T0 + 60, "cleanup": T0 + 62}
JOB = JobTimes(created=T0 + 3.4, started=T0 + 20, main_started=T0 + 25, main_ended=T0 + 55)


def test_every_phase_in_order_from_the_kernel_and_the_job() -> None:
    timeline = build_timeline(KERNEL, JOB, end=T0 + 63)
    assert [p.name for p in timeline] == list(PHASES)
    assert timeline.as_dict() == pytest.approx({
        "prepare": 1, "upload": 2, "submit": 0.5, "queue": 16.5, "stage-in": 5, "main": 30,
        "stage-out": 5, "download": 2, "cleanup": 1})
    assert timeline[0].start == T0 and timeline[-1].end == pytest.approx(T0 + 63)
    assert sum(p.duration for p in timeline) == pytest.approx(63)
    for before, after in itertools.pairwise(timeline):
        assert before.end == pytest.approx(after.start)


def test_a_skewed_job_clock_never_reorders_phases_or_makes_one_negative() -> None:
    # The containers' clock runs 10 s ahead of the kernel's: main "ends" after the download.
    ahead = JobTimes(created=T0 + 13.4, started=T0 + 30, main_started=T0 + 35,
                     main_ended=T0 + 65)
    timeline = build_timeline(KERNEL, ahead, end=T0 + 63)
    assert [p.name for p in timeline] == list(PHASES)
    assert all(p.duration >= 0 for p in timeline)
    assert timeline["stage-out"].duration == 0
    assert timeline["download"].start == T0 + 60  # the kernel's own marks stay where they are
    assert timeline.total == pytest.approx(63)
    behind = JobTimes(created=T0 - 100, started=T0 - 90, main_started=T0 - 80, main_ended=T0)
    timeline = build_timeline(KERNEL, behind, end=T0 + 63)
    assert all(p.duration >= 0 for p in timeline) and timeline.total == pytest.approx(63)


def test_a_reattached_run_starts_with_the_job_and_unknown_phases_merge() -> None:
    marks = {"download": T0 + 60, "cleanup": T0 + 62}
    never_ran = JobTimes(created=T0 + 3.4, started=T0 + 20)  # no cell times: terminated early
    timeline = build_timeline(marks, never_ran, end=T0 + 63)
    assert [p.name for p in timeline] == ["queue", "stage-in", "download", "cleanup"]
    assert timeline["stage-in"].duration == pytest.approx(40)


def test_while_running_the_last_phase_is_the_current_one_so_far() -> None:
    marks = {k: v for k, v in KERNEL.items() if k in ("prepare", "upload", "submit", "queue")}
    timeline = build_timeline(marks, JobTimes(created=T0 + 3.4, started=T0 + 20), end=T0 + 21)
    assert timeline.names == ["prepare", "upload", "submit", "queue", "stage-in"]
    assert timeline["stage-in"].duration == pytest.approx(1)


def test_timeline_is_a_readable_sequence_of_phases() -> None:
    timeline = build_timeline(KERNEL, JOB, end=T0 + 63)
    assert len(timeline) == 9 and isinstance(timeline[2], Phase)
    assert timeline["main"].duration == pytest.approx(30)
    with pytest.raises(KeyError):
        timeline["nope"]
    assert timeline.to_list()[0] == {"name": "prepare", "start": T0, "duration": 1.0}
    assert Timeline.from_tuples(timeline.to_tuples()) == timeline
    text = repr(timeline)
    assert text.startswith("Timeline(total 63.000 s") and "stage-out" in text
    assert repr(timeline["main"]).startswith("Phase('main', start=")


def test_phase_clock_marks_once_and_ends_once() -> None:
    now = [T0]
    clock = PhaseClock(clock=lambda: now[0])
    now[0] += 2
    clock.begin("upload")
    clock.begin("upload")  # a second mark of the same phase does not move it
    now[0] += 1
    clock.end()
    now[0] += 5
    clock.end()
    assert clock.marks == {"prepare": T0, "upload": T0 + 2}
    assert clock.ended == T0 + 3


def test_a_timeline_prints_as_a_table_of_durations() -> None:
    timeline = Timeline([Phase("prepare", T0, 0.25), Phase("stage-out", T0 + 0.25, 12.5)])
    assert repr(timeline) == ("Timeline(total 12.750 s\n"
                              "  prepare        0.250 s\n"
                              "  stage-out     12.500 s\n"
                              ")")
    assert repr(Timeline()) == "Timeline([])"
    local = datetime.datetime(2026, 11, 28, 9, 5, 7, 123456).timestamp()
    assert repr(Phase("main", local, 1.5)) == "Phase('main', start=09:05:07.123, duration=1.500 s)"
    assert timeline[-1] == Phase("stage-out", T0 + 0.25, 12.5) and timeline[0:1] == (
        Phase("prepare", T0, 0.25),)
    assert timeline.as_dict() == {"prepare": 0.25, "stage-out": 12.5}
    assert hash(timeline) == hash(Timeline(list(timeline)))
    with pytest.raises(KeyError) as missing:
        timeline["download"]
    assert missing.value.args == ("download",)
    assert build_timeline({}, JobTimes(), end=T0) == Timeline()
    assert timeline != [Phase("prepare", T0, 0.25)]


def test_the_jobs_own_times_come_from_its_snapshot() -> None:
    snapshot = JobSnapshot.from_description({
        "jobId": "j", "jobName": "cell", "status": "RUNNING",
        "createdAt": int((T0 + 3.4) * 1000), "startedAt": int((T0 + 20) * 1000)})
    assert JobTimes.of(snapshot, T0 + 25, None) == JobTimes(
        created=T0 + 3.4, started=T0 + 20, main_started=T0 + 25, main_ended=None)
    queued = JobSnapshot.from_description({"jobId": "j", "jobName": "cell",
                                           "status": "RUNNABLE"})
    assert JobTimes.of(queued, None, None) == JobTimes()
    assert JobTimes.of(None, None, T0 + 55) == JobTimes(main_ended=T0 + 55)


def test_the_clock_runs_the_last_phase_up_to_now_until_the_run_ends() -> None:
    now = [T0]
    clock = PhaseClock(clock=lambda: now[0])
    now[0] += 4
    assert clock.now() == T0 + 4
    assert clock.timeline(JobTimes()).as_dict() == {"prepare": 4.0}
    clock.begin("upload", at=T0 + 1)
    clock.end(at=T0 + 6)
    now[0] += 100
    assert clock.timeline(JobTimes()).as_dict() == {"prepare": 1.0, "upload": 5.0}
    assert PhaseClock(None).marks == {}

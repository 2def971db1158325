"""`batchmagic doctor --submit-test-job`: a tiny three-container job through the same AWS calls
a cell makes, reported step by step (definition, queue, staging, submit, log stream names, live
tail, the job's end, outputs), so the first problem on a real account shows where it is.

The job is the smallest the platform allows (Fargate 0.25 vCPU / 512 MiB; EC2 3 vCPUs), runs
the configured images (the main image needs ``python``), copies one file in, upper-cases it in
``main`` and copies the result out. Its S3 prefix is deleted afterwards.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from batchmagic.aws.clients import AwsClients
from batchmagic.aws.errors import aws_errors
from batchmagic.aws.job import BatchJob, JobSnapshot, JobStatus
from batchmagic.aws.livetail import LiveTails
from batchmagic.aws.logs import LogLine
from batchmagic.aws.resolve import ensure_bucket, ensure_job_definition, resolve_queue
from batchmagic.aws.staging import RunLocation, delete_prefix, new_run_id, upload
from batchmagic.aws.submitonce import submit_once
from batchmagic.errors import BatchMagicError
from batchmagic.jobdef import spec
from batchmagic.jobdef.layout import CONTAINERS, MAIN, WORK_DIR
from batchmagic.jobdef.sizes import EC2_MIN_VCPU
from batchmagic.provision.report import FAIL, PASS, CheckResult
from batchmagic.settings import LOG_GROUP, MANAGED_TAG, Settings

INPUT_NAME = "hello.txt"
INPUT_TEXT = "hello from batchmagic"
OUTPUT_NAME = "test-output.txt"
MAIN_SCRIPT = (
    "import pathlib\n"
    f"text = pathlib.Path('{WORK_DIR}/{INPUT_NAME}').read_text()\n"
    "print('batchmagic test job: main read', repr(text), flush=True)\n"
    f"pathlib.Path('{WORK_DIR}/{OUTPUT_NAME}').write_text(text.upper())\n"
)
Report = Callable[[CheckResult], None]


class _Failed(Exception):
    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.detail)
        self.result = result


def _job_spec(settings: Settings, region: str) -> spec.JobSpec:
    small = (0.25, 512) if settings.platform == "fargate" else (EC2_MIN_VCPU, 512)
    sized = settings.with_values(cpu=small[0], memory=small[1], timeout=max(
        settings.timeout or 0, 600))
    return spec.JobSpec.from_settings(sized, region)


def _step(check: str, action: Callable[[], str], fix: str) -> CheckResult:
    try:
        with aws_errors(check):
            return CheckResult(check, PASS, action())
    except BatchMagicError as error:
        raise _Failed(CheckResult(check, FAIL, str(error), fix)) from None


class TestJob:
    """One test job's life; each step returns the CheckResult that describes it."""

    def __init__(self, clients: AwsClients, settings: Settings, timeout: float) -> None:
        self.clients = clients
        self.settings = settings
        self.timeout = timeout
        self.job_spec = _job_spec(settings, clients.target.region)
        run_id = new_run_id()
        self.job_name = f"batchmagic-test-{run_id}"
        prefix = f"{settings.prefix.strip('/')}/{settings.user}/{run_id}".lstrip("/")
        self.location = RunLocation(settings.bucket or "", prefix)
        self.definition = ""
        self.queue = ""
        self.job: BatchJob | None = None
        self.lines: dict[str, list[str]] = {name: [] for name in CONTAINERS}
        self.streams: dict[str, str] = {}
        self.live: LiveTails | None = None
        self._lock = threading.Lock()

    def register(self) -> str:
        self.definition = ensure_job_definition(
            self.clients, spec.job_definition_payload(self.job_spec))
        return self.definition

    def resolve_queue(self) -> str:
        self.queue = resolve_queue(self.clients, self.settings)
        return self.queue

    def stage(self) -> str:
        ensure_bucket(self.clients, self.location.bucket)
        sent = upload(self.clients, self.location, [], {INPUT_NAME: INPUT_TEXT.encode()})
        return f"{sent} bytes to {self.location.in_uri}"

    def submit(self) -> str:
        payload = spec.submit_payload(
            spec=self.job_spec, job_name=self.job_name, job_queue=self.queue,
            job_definition=self.definition, in_uri=self.location.in_uri,
            out_uri=self.location.out_uri, output_patterns=(OUTPUT_NAME,), pull_names=(),
            environment={}, tags={**MANAGED_TAG, "batchmagic:test-job": "true"})
        containers = payload["ecsPropertiesOverride"]["taskProperties"][0]["containers"]
        containers[1] = {**containers[1], "command": ["python", "-c", MAIN_SCRIPT]}
        job_id = str(submit_once(self.clients, payload)["jobId"])
        self.job = BatchJob(self.clients, job_id)
        return f"{self.job_name} ({job_id}) on {self.queue}"

    def _on_lines(self, stream: str, lines: list[LogLine]) -> None:
        container = next((c for c, s in self.streams.items() if s == stream), stream)
        with self._lock:
            self.lines.setdefault(container, []).extend(line.message for line in lines)

    def _on_update(self, snapshot: JobSnapshot) -> None:
        for state in snapshot.containers:
            if state.log_stream and state.name not in self.streams:
                self.streams[state.name] = state.log_stream
        if self.streams and self.live is not None and self.live.failed is None:
            self.live.follow(list(self.streams.values()))

    def follow(self) -> JobSnapshot:
        assert self.job is not None
        self.live = LiveTails(self.clients, LOG_GROUP, self._on_lines)
        try:
            return self.job.wait(on_update=self._on_update, timeout=self.timeout)
        except TimeoutError:
            self.job.terminate("batchmagic doctor: test job timed out")
            raise

    def log_streams(self) -> str:
        missing = [c for c in CONTAINERS if c not in self.streams]
        if missing:
            raise BatchMagicError(f"no log stream for {', '.join(missing)} (DescribeJobs)")
        return "; ".join(f"{c}: {self.streams[c]}" for c in CONTAINERS)

    def live_tail(self) -> str:
        assert self.live is not None
        self.live.finish()
        if self.live.failed is not None:
            raise BatchMagicError(f"StartLiveTail failed ({self.live.failed}); runs poll "
                                  "GetLogEvents instead")
        main = self.lines.get(MAIN) or []
        if not any("batchmagic test job: main read" in line for line in main):
            raise BatchMagicError(f"main's line did not come through (got {main[-3:]})")
        count = sum(len(v) for v in self.lines.values())
        heard = "1 line, once" if count == 1 else f"{count} lines, each once"
        return f"{heard}, e.g. {main[0]!r}"

    def result(self, snapshot: JobSnapshot) -> str:
        states = {c.name: c for c in snapshot.containers}
        main = states.get(MAIN)
        if snapshot.status is not JobStatus.SUCCEEDED or main is None or main.exit_code != 0:
            parts = [f"{c.name} exit {c.exit_code} {c.reason or ''}".strip()
                     for c in snapshot.containers]
            raise BatchMagicError(f"{snapshot.status.value}: {snapshot.status_reason or ''} "
                                  f"[{'; '.join(parts)}]")
        return "SUCCEEDED, main exit 0"

    def outputs(self) -> str:
        key = f"{self.location.out_prefix}{OUTPUT_NAME}"
        body = self.clients.s3.get_object(Bucket=self.location.bucket, Key=key)["Body"].read()
        if body.decode() != INPUT_TEXT.upper():
            raise BatchMagicError(f"{key} holds {body[:80]!r}, expected {INPUT_TEXT.upper()!r}")
        return f"s3://{self.location.bucket}/{key} = {body.decode()!r}"

    def cleanup(self) -> None:
        if self.live is not None:
            self.live.close()
        # A failed delete is no failure of the setup: the bucket's lifecycle rule expires runs.
        with contextlib.suppress(BatchMagicError):
            delete_prefix(self.clients, self.location)


def submit_test_job(clients: AwsClients, settings: Settings, report: Report | None = None,
                    *, timeout: float = 900.0) -> list[CheckResult]:
    """Run the test job; each step is reported as soon as it is known (then returned)."""
    results: list[CheckResult] = []

    def done(result: CheckResult) -> None:
        results.append(result)
        if report is not None:
            report(result)

    if not settings.bucket:
        done(CheckResult("test job", FAIL, "no bucket configured", "run `batchmagic setup`"))
        return results
    job = TestJob(clients, settings, timeout)
    logs_fix = (f"allow logs:GetLogEvents, logs:FilterLogEvents and logs:StartLiveTail on "
                f"{LOG_GROUP}")
    try:
        done(_step("test job: definition", job.register,
                   "allow batch:RegisterJobDefinition and iam:PassRole on the roles"))
        done(_step("test job: queue", job.resolve_queue, "run `batchmagic setup`"))
        done(_step("test job: stage inputs", job.stage, "allow s3:PutObject on the bucket"))
        done(_step("test job: submit", job.submit, "allow batch:SubmitJob on the queue"))
        snapshot = job.follow()
        done(_step("test job: log streams", job.log_streams, logs_fix))
        done(_step("test job: live tail", job.live_tail, logs_fix))
        done(_step("test job: result", lambda: job.result(snapshot),
                   "see the job in the Batch console; the images must be pullable"))
        done(_step("test job: outputs", job.outputs,
                   "the task role needs s3:PutObject on the bucket's runs prefix"))
    except _Failed as failure:
        done(failure.result)
    except TimeoutError as error:
        done(CheckResult("test job: result", FAIL, str(error),
                         "check the compute environment can start tasks (subnets, quotas)"))
    finally:
        job.cleanup()
    return results


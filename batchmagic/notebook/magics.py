"""The ``%%aws_batch`` cell magic and its companions."""

from __future__ import annotations

import atexit
import contextlib
import sys
from pathlib import Path
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Enum, Float, Integer, TraitType, Unicode

from batchmagic.config import ConfigLayers, local_when_unset
from batchmagic.errors import BatchMagicError
from batchmagic.jobdef.layout import CONTAINERS, MAIN
from batchmagic.ledger import Ledger
from batchmagic.notebook import mapoptions as mapopts
from batchmagic.notebook import options as opts
from batchmagic.notebook.attach import find_record
from batchmagic.notebook.display import make_display
from batchmagic.notebook.doctor import doctor_table
from batchmagic.notebook.envs_table import EnvironmentsTable, cached_environments
from batchmagic.notebook.jobs_table import JobsTable
from batchmagic.notebook.jobs_table import rows as jobs_rows
from batchmagic.notebook.line import parse_line, positive_int
from batchmagic.notebook.logs_magic import job_log, print_log
from batchmagic.notebook.mapcell import attach_map, map_plan_of, run_map
from batchmagic.notebook.origin import run_origin
from batchmagic.notebook.shown import ShownRuns
from batchmagic.notebook.shutdown import on_kernel_exit
from batchmagic.notebook.timeline_view import timeline_chart_html
from batchmagic.run.distmap import warm_in_background
from batchmagic.run.dryrun import dry_run_report
from batchmagic.run.fanout import check_map_options, with_retries
from batchmagic.run.handle import Run
from batchmagic.run.interrupt import preparing
from batchmagic.run.maprun import MapRun
from batchmagic.run.preflight import check_settings
from batchmagic.run.prepare import PreparedRun, RunOptions, prepare
from batchmagic.run.prestart import prestart_local
from batchmagic.run.submit import complete_settings, launch
from batchmagic.run.target import resolve_region, resolve_target, say_image_note
from batchmagic.run.timeline import PhaseClock, Timeline
from batchmagic.settings import SETTING_NAMES, Settings, setting_help


def _setting(kind: type[TraitType[Any, Any]], name: str) -> Any:
    # Every trait defaults to None ("not set here") so the layers below can show through; a
    # setting with choices (platform, arch, deps, on_shutdown) refuses any other value.
    choices = opts.setting_choices().get(name)
    if choices:
        return Enum(choices, None, allow_none=True, help=setting_help(name)).tag(config=True)
    return kind(None, allow_none=True, help=setting_help(name)).tag(config=True)


@magics_class
class AwsBatchMagics(Magics):
    """Run notebook cells on AWS Batch. Every setting can be set in ``ipython_config.py`` or with
    ``%config AwsBatchMagics.<name> = ...``; cell options and ``%aws_batch_config`` win."""

    region = _setting(Unicode, "region")
    profile = _setting(Unicode, "profile")
    endpoint_url = _setting(Unicode, "endpoint_url")
    local = _setting(Bool, "local")
    bucket = _setting(Unicode, "bucket")
    prefix = _setting(Unicode, "prefix")
    user = _setting(Unicode, "user")
    queue = _setting(Unicode, "queue")
    compute_environment = _setting(Unicode, "compute_environment")
    execution_role = _setting(Unicode, "execution_role")
    task_role = _setting(Unicode, "task_role")
    image = _setting(Unicode, "image")
    sidecar_image = _setting(Unicode, "sidecar_image")
    cpu = _setting(Float, "cpu")
    memory = _setting(Integer, "memory")
    platform = _setting(Unicode, "platform")
    timeout = _setting(Integer, "timeout")
    ephemeral_storage = _setting(Integer, "ephemeral_storage")
    arch = _setting(Unicode, "arch")
    gpu = _setting(Integer, "gpu")
    spot = _setting(Bool, "spot")
    spot_queue = _setting(Unicode, "spot_queue")
    gpu_queue = _setting(Unicode, "gpu_queue")
    runnable_timeout = _setting(Integer, "runnable_timeout")
    diagnose_after = _setting(Integer, "diagnose_after")
    output_dir = _setting(Unicode, "output_dir")
    keep = _setting(Bool, "keep")
    template = _setting(Bool, "template")
    on_shutdown = _setting(Unicode, "on_shutdown")
    log_tail = _setting(Integer, "log_tail")
    deps = _setting(Unicode, "deps")
    display_mode = Enum(
        ("auto", "widget", "text"), "auto",
        help="auto (widget in Jupyter, text elsewhere), widget or text"
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.layers = ConfigLayers()
        self.runs: list[Run | MapRun] = []
        """Runs whose pulled variables are not bound yet (finished ones are let go)."""
        self.shown = ShownRuns(shell)
        self.ledger = Ledger()
        self._told_local = False
        if shell is not None:
            # --no-wait runs bind their pulled variables before the first cell that runs after
            # the job has ended (never in the middle of a cell), or at run.wait().
            shell.events.register("pre_run_cell", self._bind_finished_runs)
        atexit.register(self._on_shutdown)
        warm_in_background()  # --deps auto's module map, off the first cell's path

    def _bind_finished_runs(self, *_args: Any) -> None:
        # Like IPython's %%script background processes (_gc_bg_processes): a finished run is
        # bound once, then dropped, so a long session does not keep every run's logs alive.
        for run in [run for run in self.runs if run.done]:
            run.bind_results()
            self.runs.remove(run)

    def _on_shutdown(self) -> None:
        if any(not run.done for run in self.runs):
            on_kernel_exit(self.runs, self.effective_settings({})[0].on_shutdown)

    def _where(self) -> dict[str, str | None]:
        return run_origin(self.shell, self.namespace)

    @property
    def namespace(self) -> dict[str, Any]:
        """The kernel's user namespace (pushed variables come from it, pulled ones go to it)."""
        assert self.shell is not None, "AwsBatchMagics needs an IPython shell"
        return self.shell.user_ns  # type: ignore[no-any-return]

    # --- settings -------------------------------------------------------------------------
    def effective_settings(self, cell: dict[str, Any]) -> tuple[Settings, dict[str, str]]:
        self.layers.config = {name: getattr(self, name) for name in SETTING_NAMES}
        return local_when_unset(*self.layers.resolve(cell))

    def _bind(self, values: dict[str, Any]) -> None:
        self.namespace.update(values)

    # --- %%aws_batch ------------------------------------------------------------------------
    @magic_arguments(name="%aws_batch")  # the usage line reads %%aws_batch
    @opts.run_arguments
    @mapopts.map_arguments
    @opts.setting_arguments
    @cell_magic
    def aws_batch(self, line: str, cell: str) -> Run | MapRun | None:
        """Run this cell as a three-container AWS Batch job and bring its results back.

        The cell runs in the ``main`` container, in the job's work dir (relative paths work);
        ``stage-in`` copies ``--inputs`` there first, ``stage-out`` copies ``--outputs`` (and
        everything written under ``{{ outputDir }}``) back. Logs stream under the cell; output
        files land in ``--output-dir``; ``--pull`` variables are bound in the kernel. Without
        any AWS settings the cell runs on the embedded local emulator.

        Examples::

            %%aws_batch --inputs data/ --outputs "*.csv" --cpu 2 --memory 4096
            %%aws_batch --push params --pull model --result run --timeout 3600
            %%aws_batch --local --dry-run

        Set defaults with ``%aws_batch_config``; see runs with ``%aws_batch_jobs``; resume one
        after a kernel restart with ``%aws_batch_attach JOB_ID``.
        """
        clock = PhaseClock()  # run.timeline's "prepare" starts now
        args = parse_line(self.aws_batch, line)
        run_options = opts.run_options(args)
        map_options = mapopts.map_options(args)
        check_map_options(map_options, run_options.push, run_options.pull)
        settings, sources = self.effective_settings(opts.setting_values(args))
        check_settings(settings)  # endpoint, region, bucket, image, ...: one line, before any call
        # --local picks the endpoint: a bucket/queue given here is used on the emulator too.
        self._given = tuple(n for n in ("bucket", "queue") if sources[n] in ("cell", "session"))
        if settings.local and sources["local"].startswith("default") and not self._told_local:
            self._told_local = True  # once per kernel
            print("batchmagic: no AWS settings configured, running on the local emulator "
                  "(`batchmagic setup` configures AWS).", file=sys.stderr)
        if map_options.enabled:
            return run_map(self, cell, run_options, map_options, settings)
        prepared = self._prepare(cell, run_options, settings)
        for warning in prepared.packages.warnings if prepared.packages else ():
            print(f"batchmagic: warning: {warning}", file=sys.stderr)
        if run_options.dry_run:
            print(dry_run_report(prepared))
            return None
        run = self._launch(prepared, clock, retries=map_options.retries)
        if run_options.wait:
            run.wait()
            if run.done:
                self.runs.remove(run)  # its results are bound; a detached run binds them later
        else:
            print(f"batchmagic: {run.job_name} runs in the background; run.wait() blocks until it "
                  f"ends, %aws_batch_attach {run.job_id} resumes it after a kernel restart.")
        return run

    def _prepare(self, cell: str, run_options: RunOptions, settings: Settings) -> PreparedRun:
        with preparing():  # Ctrl-C here (the package index can be slow): one line
            return prepare(cell, run_options, settings, namespace=self.namespace,
                           cwd=Path.cwd(), region=resolve_region(settings))

    def _launch(self, prepared: PreparedRun, clock: PhaseClock | None = None,
                retries: int = 0) -> Run:
        target, settings = resolve_target(prepared.settings, getattr(self, "_given", ()))
        prepared = complete_settings(prepared, settings)
        say_image_note(target, settings.image)
        display = make_display(self.display_mode, settings.log_tail)
        run = launch(prepared, target, display, bind=self._bind,
                     ledger=self.ledger, where=self._where(), clock=clock,
                     adjust=(lambda payload: with_retries(payload, retries)) if retries else None)
        self.runs.append(run)
        self.shown.add(run)
        if prepared.options.result:
            self.namespace[prepared.options.result] = run
        return run

    # --- %aws_batch_config ----------------------------------------------------------------
    @magic_arguments()
    @opts.setting_arguments
    @line_magic
    def aws_batch_config(self, line: str) -> None:
        """Set session defaults for ``%%aws_batch`` (same options), or, without options, print
        the effective configuration and where each value comes from.

        Precedence: cell options > this session > BATCHMAGIC_* environment variables >
        IPython config (``%config AwsBatchMagics.bucket = ...``) > ``batchmagic setup``'s
        settings file > built-in defaults.
        """
        args = parse_line(self.aws_batch_config, line)
        values, resets = opts.setting_values(args), opts.reset_names(args)
        if values or resets:
            self.effective_settings(values)  # validates the values before keeping them
            check_settings(Settings().with_values(**values))  # region, bucket, image, counts
            self.layers.session.update(values)
            for name in resets:  # `--image ''`: back to what the lower layers say
                self.layers.session.pop(name, None)
            print("batchmagic session defaults: "
                  + ", ".join([f"{k}={v!r}" for k, v in sorted(values.items())]
                              + [f"{name} reset" for name in resets]))
            return
        settings, sources = self.effective_settings({})
        width = max(len(n) for n in SETTING_NAMES)
        for name in SETTING_NAMES:
            print(f"{name:<{width}}  {getattr(settings, name)!r:<48} {sources[name]}")


    @magic_arguments()
    @opts.setting_arguments
    @line_magic
    def aws_batch_envs(self, line: str) -> EnvironmentsTable:
        """The job environments cached in the bucket (``PREFIX/_envs/``): key, size, age, Python
        and packages. A cell with the same packages restores its environment instead of
        installing them; ``--rebuild-env`` on a cell builds it again."""
        args = parse_line(self.aws_batch_envs, line)
        settings, _ = self.effective_settings(opts.setting_values(args))
        return cached_environments(*resolve_target(settings))

    # --- jobs, attach, doctor ----------------------------------------------------------------
    @magic_arguments()
    @argument("--limit", type=positive_int, default=20, help="how many recent runs to show")
    @line_magic
    def aws_batch_jobs(self, line: str) -> JobsTable:
        """Recent batchmagic runs (newest first) with their live status."""
        args = parse_line(self.aws_batch_jobs, line)
        return JobsTable(jobs_rows(self.ledger, args.limit))

    @magic_arguments()
    @argument("job", metavar="JOB_ID_OR_NAME", help="a job id, or the name of a recorded run")
    @argument("--result", metavar="NAME", help="also bind the run object to NAME")
    @argument("--no-wait", action="store_true", help="return at once; outputs land at the end")
    @line_magic
    def aws_batch_attach(self, line: str) -> Run | MapRun:
        """Re-attach to a run (after a kernel restart, or from another machine with its job id):
        re-stream its logs from the start, wait for it, download its output files and bind its
        pulled variables, exactly as the original cell would have."""
        args = parse_line(self.aws_batch_attach, line)
        settings, _ = self.effective_settings({})
        fallback = resolve_target(settings)[0]
        record, clients = find_record(self.ledger, args.job, fallback,
                                      Path.cwd() / settings.output_dir)
        plan = map_plan_of(clients, record)
        run: Run | MapRun
        if plan is not None:
            run = attach_map(self, record, clients, plan)
        else:
            run = Run(record, clients, make_display(self.display_mode, settings.log_tail),
                      bind=self._bind, ledger=self.ledger).start()
            self.runs.append(run)
            self.shown.add(run)
        if args.result:
            self.namespace[args.result] = run
        if args.no_wait:
            return run
        run.wait()
        if run.done:
            self.runs.remove(run)
        return run

    @magic_arguments()
    @argument("job", metavar="JOB_ID_OR_NAME", help="a job id, or the name of a recorded run")
    @argument("--container", default=MAIN, choices=list(CONTAINERS),
              help="whose log (default: main)")
    @argument("--tail", type=positive_int, metavar="N", help="only the last N lines")
    @line_magic
    def aws_batch_logs(self, line: str) -> None:
        """Print every line of a job's container log, read from CloudWatch Logs (the widget
        shows the last ``log_tail`` lines; ``run.logs`` and ``run.log_text(container)`` hold all
        of them for runs of this kernel)."""
        args = parse_line(self.aws_batch_logs, line)
        settings, _ = self.effective_settings({})
        log, ended = job_log(self.ledger, args.job, args.container,
                             resolve_target(settings)[0], Path.cwd() / settings.output_dir)
        print_log(log, args.tail, ended=ended)

    @magic_arguments()
    @argument("--submit-test-job", action="store_true",
              help="then submit a tiny three-container job and report each step")
    @opts.setting_arguments
    @line_magic
    def aws_batch_doctor(self, line: str) -> Any:
        """Check the configured AWS setup (credentials, bucket, roles, compute environment,
        queue, sizes, log group) and show a pass/fail table with the fix for each failure;
        ``--submit-test-job`` then runs a tiny job through every step a cell takes."""
        args = parse_line(self.aws_batch_doctor, line)
        settings, _ = self.effective_settings(opts.setting_values(args))
        return doctor_table(settings, submit_test_job=args.submit_test_job)


def register(shell: Any) -> None:
    magics = AwsBatchMagics(shell)
    shell.register_magics(magics)
    magics.shown.register()
    # run.timeline evaluated in Jupyter shows its bar chart (its repr is a table in a terminal).
    shell.display_formatter.formatters["text/html"].for_type(Timeline, timeline_chart_html)
    # Without AWS settings every cell runs on the local emulator: get it ready now.
    with contextlib.suppress(BatchMagicError):  # invalid settings: the first cell says so
        prestart_local(magics.effective_settings({})[0])

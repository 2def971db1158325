"""batchmagic benchmarks, side by side with a baseline, against an emulator started here.

    python -m benchmarks                # full run (about 5 minutes)
    python -m benchmarks --quick        # smoke run (about 1.5 minutes)
    python benchmarks/run.py --quick    # the same, as a script

1. trivial cell end to end (`%%aws_batch --local` of ``print(1+1)`` in a real InteractiveShell,
   warm) vs ``python -c "print(1+1)"``, with a breakdown of where the time goes
   (``benchmarks/trivial_cell.py``);
2. staging throughput: ``staging.upload`` / ``staging.download_outputs`` vs
   ``aws s3 cp --recursive`` on the same emulator (``benchmarks/staging.py``);
3. Batch + CloudWatch Logs API calls per job-minute made by the kernel side
   (``benchmarks/api_calls.py``);
4. latency of a remote ``print`` until its line reaches the run's display
   (``benchmarks/latency.py``).

Everything runs in a temporary directory with its own BATCHMAGIC_STATE_DIR, BATCHMAGIC_CONFIG and
IPYTHONDIR, so the user's ledger, settings and background emulator are never touched. The
background emulator started here (the one ``--local`` uses) is stopped at the end. What the
benchmarks share (environment, instrumentation, shell, result table) is in
``benchmarks/harness.py``; ``benchmarks/runner.py`` holds the options and runs them in turn.
"""

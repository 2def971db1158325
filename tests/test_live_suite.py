"""`pytest -m aws` is the live suite: left out of the default run, and without credentials each
of its tests is skipped with the reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pytest(tmp_path: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "BATCHMAGIC_"))}
    env.update(HOME=str(tmp_path), AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-rs", *args, "tests/live"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


def test_without_credentials_the_live_suite_says_why_it_skips(tmp_path: Path) -> None:
    out = _pytest(tmp_path, "-m", "aws")
    assert "3 skipped" in out, out
    assert "no AWS credentials" in out


def test_the_default_run_leaves_the_live_suite_out(tmp_path: Path) -> None:
    out = _pytest(tmp_path)
    assert "3 deselected" in out, out

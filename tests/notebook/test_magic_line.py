"""The magic line is read with shell rules: quotes removed, spaces inside quotes kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

from batchmagic.settings import default_python_image


def test_quoted_patterns_paths_and_values_reach_the_job(ip: Any, tmp_path: Path) -> None:
    (tmp_path / "my data").mkdir()
    (tmp_path / "my data" / "rows.txt").write_text("1\n2\n")
    cell = (
        "import os\n"
        "rows = open('my data/rows.txt').read().split()\n"
        "os.makedirs('results', exist_ok=True)\n"
        "open('results/train.parquet', 'wb').write(b'PAR1')\n"
        "open('summary.csv', 'w').write('rows\\n%d\\n' % len(rows))\n"
        "greeting = os.environ['GREETING']\n"
    )
    line = ('--local --inputs "my data/" --outputs "results/*.parquet" \'*.csv\' '
            '--env GREETING="hello world" --pull greeting')
    run = ip.run_cell_magic("aws_batch", line, cell)
    assert (tmp_path / "results" / "train.parquet").read_bytes() == b"PAR1"
    assert (tmp_path / "summary.csv").read_text() == "rows\n2\n"
    assert ip.user_ns["greeting"] == "hello world"
    assert run.warnings == []


def test_a_directory_name_brings_back_everything_under_it(ip: Any, tmp_path: Path) -> None:
    cell = (
        "import os\n"
        "os.makedirs('out/deep', exist_ok=True)\n"
        "open('out/a.txt', 'w').write('a')\n"
        "open('out/deep/b.txt', 'w').write('b')\n"
        "os.makedirs('plots', exist_ok=True)\n"
        "open('plots/c.png', 'wb').write(b'c')\n"
        "open('left.txt', 'w').write('not an output')\n"
    )
    run = ip.run_cell_magic("aws_batch", "--local --outputs out plots/", cell)
    assert (tmp_path / "out" / "a.txt").read_text() == "a"
    assert (tmp_path / "out" / "deep" / "b.txt").read_text() == "b"
    assert (tmp_path / "plots" / "c.png").read_bytes() == b"c"
    assert not (tmp_path / "left.txt").exists()
    assert run.warnings == []


def test_an_output_pattern_that_matches_nothing_is_a_visible_warning(
        ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run = ip.run_cell_magic("aws_batch", "--local --outputs '*.csv' results/", "x = 1\n")
    assert run.status == "SUCCEEDED"
    assert run.warnings == [
        "--outputs '*.csv' matched no file in the work dir; nothing came back for it",
        "--outputs 'results/' matched no file in the work dir; nothing came back for it",
    ]
    shown = capsys.readouterr()
    assert "warning: --outputs '*.csv' matched no file" in shown.out + shown.err


def test_an_empty_image_means_the_default_and_resets_a_session_default(
        ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("aws_batch_config", "--image my-registry/custom:1")
    ip.run_cell_magic("aws_batch", "--local --dry-run --image ''", "x = 1\n")
    assert "my-registry/custom:1" in capsys.readouterr().out  # the session default applies
    ip.run_line_magic("aws_batch_config", "--image ''")
    ip.run_cell_magic("aws_batch", "--local --dry-run", "x = 1\n")
    out = capsys.readouterr().out
    assert "my-registry/custom:1" not in out
    assert default_python_image() in out


def test_an_unclosed_quote_is_one_clear_usage_error(ip: Any) -> None:
    with pytest.raises(UsageError, match="No closing quotation"):
        ip.run_cell_magic("aws_batch", "--local --outputs \"*.csv", "x = 1\n")


def test_help_still_lists_the_options(ip: Any) -> None:
    help_text = ip.find_cell_magic("aws_batch").__doc__
    assert "--outputs PATTERN [PATTERN ...]" in help_text
    assert "Examples::" in help_text


def test_a_list_option_given_twice_keeps_both(ip: Any) -> None:
    """`--setup A --setup B` runs both (argparse alone keeps only the last, silently)."""
    run = ip.run_cell_magic(
        "aws_batch", "--local --setup 'echo first-setup' --setup 'echo second-setup' "
        "--env A=1 --env B=2 --pull a --pull b",
        "import os\na, b = os.environ['A'], os.environ['B']")
    setup = run.log_text()
    assert "first-setup" in setup and "second-setup" in setup, setup
    assert (ip.user_ns["a"], ip.user_ns["b"]) == ("1", "2")

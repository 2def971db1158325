"""notebooks/sweep.ipynb, executed headless by nbclient in a real ipykernel: a 20-item sweep
with one failing item, collected, then retried after a fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.notebook.test_quickstart import _text

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "sweep.ipynb"


def test_the_sweep_notebook_collects_a_failure_and_retries_it(tmp_path: Path) -> None:
    notebook_path = tmp_path / NOTEBOOK.name
    shutil.copy(NOTEBOOK, notebook_path)
    notebook = nbformat.read(notebook_path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [_text(cell) for cell in notebook.cells if cell.cell_type == "code"]
    sweep = next(text for text in code if "items succeeded" in text)
    assert "19 of 20 items succeeded on 5 children" in sweep
    assert "failed: ValueError: rate 0.13 diverges" in sweep
    assert "failed: {12: 'ValueError: rate 0.13 diverges'}" in "\n".join(code)
    assert "best: (0.1469, 0.11)" in "\n".join(code)
    retried = next(text for text in code if "failed after the retry" in text)
    assert "failed after the retry: {}" in retried and "item 12: 0.1502" in retried
    # curve.csv is written by every item: each lands in its own <index>/ directory.
    assert (tmp_path / "12" / "curve.csv").read_text() == "rate,loss\n0.13,0.1502\n"
    assert len(list(tmp_path.glob("*/curve.csv"))) == 20

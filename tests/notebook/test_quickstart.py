"""The quickstart notebook, executed headless by nbclient in a real ipykernel."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
        else:
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_quickstart_runs_headless_and_keeps_logs_in_saved_outputs(tmp_path: Path) -> None:
    notebook_path = tmp_path / NOTEBOOK.name
    shutil.copy(NOTEBOOK, notebook_path)
    notebook = nbformat.read(notebook_path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    by_source = {cell.source.splitlines()[0]: _text(cell) for cell in code if cell.source}

    staged = next(text for first, text in by_source.items()
                  if first.startswith("%%aws_batch --local --inputs"))
    assert "10 rows, 6 above 5.0" in staged  # the remote print, kept in the saved outputs
    assert "SUCCEEDED" in staged

    after = next(text for first, text in by_source.items() if first.startswith("print(\"pulled"))
    assert "pulled: 6 rows above the threshold" in after
    assert '"above": 6' in after
    assert "{'above': 6}" in after

    reference = by_source["sorted(env_run.outputs)"]
    assert "'python_version'" in reference
    assert (tmp_path / "environment_info.json").exists()

    progress = next(text for first, text in by_source.items()
                    if first == "%%aws_batch --local" and "trained" in text)
    assert "training |####################| 100%" in progress
    assert progress.count("training |") == 1, progress  # the saved output keeps the final state

    packages = next(text for first, text in by_source.items() if "--pip" in first)
    assert "packages come with --pip" in packages  # cowsay installed in the bare image

    failing = next(cell for cell in code if "raises-exception" in cell.metadata.get("tags", []))
    failure = _text(failing)
    assert "JobFailedError: ValueError: the data was not what we expected" in failure
    assert "about to fail" in failure
    assert (tmp_path / "partial.txt").read_text() == "written before the failure\n"

    jobs = by_source["%aws_batch_jobs --limit 5"]
    assert "SUCCEEDED" in jobs

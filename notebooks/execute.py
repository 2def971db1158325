"""Execute a notebook headless in a real kernel (nbclient + ipykernel) and print its outputs.

    python notebooks/execute.py notebooks/quickstart.ipynb [--save OUT.ipynb]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def text_of(output: dict) -> str:  # type: ignore[type-arg]
    kind = output.get("output_type")
    if kind == "stream":
        return str(output.get("text", ""))
    if kind == "error":
        return f"{output.get('ename')}: {output.get('evalue')}\n"
    data = output.get("data", {})
    return str(data.get("text/plain", "")) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--save", type=Path, help="also write the executed notebook here")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args()
    notebook = nbformat.read(args.notebook, as_version=4)
    client = NotebookClient(notebook, timeout=args.timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(args.notebook.parent)}})
    client.execute()
    for number, cell in enumerate(notebook.cells, 1):
        if cell.cell_type != "code":
            continue
        print(f"\n--- cell {number} " + "-" * 60)
        print(cell.source)
        print("--- output:")
        for output in cell.get("outputs", []):
            sys.stdout.write(text_of(output))
    if args.save:
        nbformat.write(notebook, args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())

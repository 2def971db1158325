"""``python benchmarks/run.py``: the same as ``python -m benchmarks`` (``--help`` for options)."""

import sys
from pathlib import Path

# Run as a script, this file's directory is first on sys.path; the package needs its parent.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

"""``python -m benchmarks``: run the benchmarks (``--help`` for the options)."""

import sys

from benchmarks.runner import main

sys.exit(main())

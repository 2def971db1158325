"""``python -m benchmarks.mutation_report``: the last ``mutmut run``'s score, module by module.

Reads the verdicts mutmut keeps in ``mutants/**/*.py.meta``. The score counts a mutant as caught
when a test failed or timed out on it; a mutant that no selected test reaches counts against the
score. ``--survivors`` lists the surviving mutants' names (``mutmut show NAME`` shows one).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

# mutmut's exit-code conventions (mutmut/stats.py, status_by_exit_code).
KILLED = {1, 3}
TIMEOUT = {36, -24, 24, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}
SKIPPED = {34}


def verdicts(root: Path) -> dict[str, dict[str, int | None]]:
    """Module path -> {mutant name: exit code} for every file mutmut mutated under ``root``."""
    found: dict[str, dict[str, int | None]] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        module = str(meta.relative_to(root))[: -len(".meta")]
        found[module] = json.loads(meta.read_text())["exit_code_by_key"]
    return found


def kind(code: int | None) -> str:
    if code in KILLED or code in TIMEOUT:
        return "killed"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no tests"
    if code in SKIPPED:
        return "skipped"
    return "not checked" if code is None else "other"


def table(found: dict[str, dict[str, int | None]]) -> list[str]:
    lines = [f"{'module':<34} {'mutants':>7} {'killed':>6} {'survived':>8} {'no tests':>8} "
             f"{'score':>6}"]
    total: Counter[str] = Counter()
    for module, codes in found.items():
        counts = Counter(kind(code) for code in codes.values())
        total.update(counts)
        lines.append(_row(module, len(codes), counts))
    lines.append(_row("all", sum(total.values()), total))
    return lines


def _row(name: str, mutants: int, counts: Counter[str]) -> str:
    judged = mutants - counts["skipped"] - counts["not checked"]
    score = f"{100 * counts['killed'] / judged:.1f}%" if judged else "-"
    return (f"{name:<34} {mutants:>7} {counts['killed']:>6} {counts['survived']:>8} "
            f"{counts['no tests']:>8} {score:>6}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mutation_report",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"),
                        help="mutmut's working tree (default: ./mutants)")
    parser.add_argument("--survivors", action="store_true",
                        help="also list the mutants that survived or that no test reached")
    options = parser.parse_args(argv)
    found = verdicts(options.mutants)
    if not found:
        print(f"no mutmut results under {options.mutants}/: run `mutmut run` first",
              file=sys.stderr)
        return 1
    print("\n".join(table(found)))
    if options.survivors:
        for codes in found.values():
            for name, code in codes.items():
                if kind(code) in ("survived", "no tests"):
                    print(f"{kind(code):>8}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

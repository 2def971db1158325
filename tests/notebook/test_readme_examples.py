"""Every %%aws_batch example in README.md and in the magic's help runs, verbatim, on the
emulator. README sections run their Python blocks in order in a scratch directory; a block
preceded by ``<!-- needs AWS ... -->`` is the only kind that may be skipped."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from batchmagic.notebook.line import parse_line

README = Path(__file__).resolve().parents[2] / "README.md"
_FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
NEEDS_AWS = "<!-- needs AWS"


def _sections() -> dict[str, list[tuple[str, bool]]]:
    """Heading -> its Python blocks (source, marked as needing AWS), in README order."""
    text = README.read_text()
    sections: dict[str, list[tuple[str, bool]]] = {}
    heading = "(top)"
    position = 0
    for match in _FENCE.finditer(text):
        before = text[position:match.start()]
        headings = re.findall(r"^#+ (.+)$", before, re.MULTILINE)
        heading = headings[-1] if headings else heading
        last_line = before.rstrip().splitlines()[-1] if before.strip() else ""
        needs_aws = last_line.startswith(NEEDS_AWS)
        sections.setdefault(heading, []).append((match.group(1), needs_aws))
        position = match.end()
    return {h: blocks for h, blocks in sections.items()
            if any(b.startswith("%%aws_batch") and not aws for b, aws in blocks)}


def _marked() -> list[str]:
    text = README.read_text()
    return [m.group(1) for m in _FENCE.finditer(text)
            if text[:m.start()].rstrip().splitlines()[-1].startswith(NEEDS_AWS)]


def _run(ip: Any, source: str) -> None:
    result = ip.run_cell(source)
    if not result.success:
        raise result.error_before_exec or result.error_in_exec


def _check(ip: Any, block: str) -> None:
    """What a finished example promises: pulled names bound, outputs back, no warnings."""
    args = parse_line(ip.find_cell_magic("aws_batch"), block.splitlines()[0][len("%%aws_batch"):])
    for name in args.pull:
        assert name in ip.user_ns, name
    if args.result:
        run = ip.user_ns[args.result]
        assert getattr(run, "warnings", []) == [], run.warnings


def test_only_examples_marked_as_needing_aws_are_skipped() -> None:
    marked = _marked()
    assert len(marked) == 1 and "ghcr.io/kestra-io/pydata" in marked[0]
    runnable = [b for blocks in _sections().values() for b, aws in blocks
                if b.startswith("%%aws_batch") and not aws]
    everything = [m.group(1) for m in _FENCE.finditer(README.read_text())
                  if m.group(1).startswith("%%aws_batch")]
    assert len(runnable) + len(marked) == len(everything)


@pytest.mark.parametrize("heading", list(_sections()))
def test_readme_section_runs_as_written(ip: Any, heading: str) -> None:
    for block, needs_aws in _sections()[heading]:
        if needs_aws:
            continue
        _run(ip, block)
        if block.startswith("%%aws_batch"):
            _check(ip, block)


def _help_examples(ip: Any) -> list[str]:
    doc = ip.find_cell_magic("aws_batch").__doc__
    examples = doc.split("Examples::", 1)[1].strip().split("\n\n", 1)[0]
    return [line.strip() for line in examples.splitlines() if line.strip()]


def test_the_help_has_examples(ip: Any) -> None:
    assert len(_help_examples(ip)) >= 3


@pytest.mark.parametrize("index", range(3))
def test_help_example_runs_as_written(ip: Any, tmp_path: Path, index: int) -> None:
    examples = _help_examples(ip)
    if index >= len(examples):
        pytest.skip("the help has fewer examples")  # the count is checked above
    line = examples[index]
    args = parse_line(ip.find_cell_magic("aws_batch"), line[len("%%aws_batch"):])
    # The files and variables the example expects, made for it in the scratch directory.
    for path in args.inputs:
        target = tmp_path / path
        if path.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
            (target / "sample.txt").write_text("sample\n")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("sample\n")
    for name in args.push:
        ip.user_ns[name] = {"alpha": 0.5}
    body = ["import os"]
    body += [f"os.makedirs(os.path.dirname({p.replace('*', 'example')!r}) or '.', exist_ok=True)"
             f"; open({p.replace('*', 'example')!r}, 'w').write('x')" for p in args.outputs]
    body += [f"{name} = 'made remotely'" for name in args.pull]
    _run(ip, line + "\n" + "\n".join(body) + "\n")
    _check(ip, line)
    for pattern in args.outputs:
        assert (tmp_path / pattern.replace("*", "example")).exists()

"""6. A chatty cell and a progress bar in a real JupyterLab (headless Chromium, Playwright).

Side by side in one page: the same 100,000 lines printed by a plain kernel cell (the baseline)
and by a ``%%aws_batch --local`` cell. Measured from the browser: how long the page stays busy
(Long Tasks API) after the work ended, the bytes the kernel's websocket delivered for the cell,
the text the widget was sent to show, the size of the cell's saved output (after Ctrl+S), that
``run.logs`` is complete; then a 10 s progress bar redrawn with ``\\r`` and how many of its
intermediate states the widget showed live.
"""

from __future__ import annotations

import json
import re
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness import Bench, Row, fmt_s, say

LONG_TASKS = """
window.__longtasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    window.__longtasks.push([performance.timeOrigin + entry.startTime, entry.duration]);
  }
}).observe({type: "longtask", buffered: true});
"""


def chatty_source(lines: int, seconds: float) -> str:
    """Python printing ``lines`` lines of 50 characters, evenly over ``seconds``."""
    return (f"import time\n_start = time.time()\nfor i in range({lines}):\n"
            "    print(f'line {i:06d} ' + 'x' * 38)\n"
            "    if i % 1000 == 999:\n"
            f"        time.sleep(max(0, _start + {seconds} * (i + 1) / {lines} - time.time()))\n"
            "_end = time.time()\n")


PROGRESS = ("import sys, time\nfor step in range(101):\n"
            "    sys.stderr.write(f'\\rtraining {step:3d}%|' + '#' * (step // 5))\n"
            "    time.sleep(0.1)\nsys.stderr.write('\\n')\n")


@dataclass
class Frames:
    """Websocket frames the page received from the kernel: (arrival time, bytes, messages)."""

    got: list[tuple[float, int, list[dict[str, Any]]]] = field(default_factory=list)

    def on_frame(self, payload: str | bytes) -> None:
        size = len(payload.encode() if isinstance(payload, str) else payload)
        self.got.append((time.time(), size, decode(payload)))

    def between(self, start: float, end: float) -> list[tuple[float, int, list[dict[str, Any]]]]:
        return [frame for frame in self.got if start <= frame[0] <= end]


def decode(payload: str | bytes) -> list[dict[str, Any]]:
    """The messages of one frame: JSON text, or JupyterLab's binary v1 kernel protocol
    (a count of offsets, the offsets, then channel, header, parent, metadata, content...)."""
    try:
        if isinstance(payload, str):
            return [json.loads(payload)]
        count = struct.unpack_from("<Q", payload, 0)[0]
        offsets = [*struct.unpack_from(f"<{count}Q", payload, 8), len(payload)]
        parts = [payload[offsets[i]:offsets[i + 1]] for i in range(count)]
        header = json.loads(parts[1])
        return [{"channel": parts[0].decode(), "header": header,
                 "content": json.loads(parts[4])}]
    except (ValueError, struct.error, IndexError, UnicodeDecodeError):
        return []


def widget_text(messages: list[dict[str, Any]]) -> int:
    """Characters of stream text the widget was sent (output chunks and the live line)."""
    total = 0
    for message in messages:
        data = (message.get("content") or {}).get("data") or {}
        for output in (data.get("state") or {}).get("outputs") or []:
            text = output.get("text", "")
            total += len("".join(text) if isinstance(text, list) else text)
    return total


def idle_after(page: Any, since: float, settle: float = 3.0, most: float = 180.0) -> float:
    """Epoch time the page's last long task (after ``since``) ended, once none came for
    ``settle`` seconds; ``since`` if there was none."""
    deadline = time.time() + most
    while True:
        tasks = [(start / 1000, duration / 1000) for start, duration in
                 page.evaluate("window.__longtasks") if start / 1000 >= since - 1]
        last = max((start + duration for start, duration in tasks), default=since)
        if time.time() - last >= settle or time.time() > deadline:
            return max(last, since)
        time.sleep(0.25)


def run_and_wait(page: Any, cell: Any, number: int) -> tuple[float, float]:
    """Run a cell; (start, the time its prompt showed [number])."""
    from playwright.sync_api import expect

    from tests.browser.lab import run_cell

    start = time.time()
    run_cell(page, cell)
    expect(cell.locator(".jp-InputPrompt")).to_have_text(f"[{number}]:", timeout=600_000)
    return start, time.time()


def saved_output_bytes(page: Any, path: Path) -> list[int]:
    """Save the notebook (Ctrl+S); the size of each cell's outputs in the file."""
    before = path.stat().st_mtime
    page.keyboard.press("Control+s")
    deadline = time.time() + 30
    while time.time() < deadline:
        time.sleep(0.5)
        if path.stat().st_mtime != before:
            try:
                cells = json.loads(path.read_text())["cells"]
            except ValueError:
                continue  # still being written
            return [len(json.dumps(cell["outputs"])) for cell in cells]
    raise AssertionError(f"{path} was not saved")


def bench_browser_log(bench: Bench) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.lab import chromium, open_notebook, running_lab, write_notebook

    lines, seconds = bench.args.chatty_lines, 2.0
    say(f"== 8. JupyterLab: {lines:,} lines in {seconds:g} s, and a 10 s progress bar ==")
    chatty = chatty_source(lines, seconds)
    sources = ["%load_ext batchmagic", chatty, "%%aws_batch --local --result r\n" + chatty,
               "print(len(r.logs), r.logs[-1][:11], r.snapshot.stopped_at.timestamp(), _end, "
               "sep='|')",
               "%%aws_batch --local\n" + PROGRESS]
    base = bench.root / "lab"
    base.mkdir()
    frames = Frames()
    with sync_playwright() as playwright, chromium(playwright) as browser, \
            running_lab(base) as lab:
        write_notebook(lab.root / "chatty.ipynb", sources)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.add_init_script(LONG_TASKS)
        page.on("websocket", lambda ws: ws.on("framereceived", frames.on_frame))
        cells = open_notebook(page, lab, "chatty.ipynb", len(sources))
        run_and_wait(page, cells.nth(0), 1)

        start, shown = run_and_wait(page, cells.nth(1), 2)  # the baseline: a plain print
        plain_idle = idle_after(page, shown)
        plain_bytes = sum(size for _, size, _ in frames.between(start, plain_idle))

        start, shown = run_and_wait(page, cells.nth(2), 3)
        ours_idle = idle_after(page, shown)
        ours_frames = frames.between(start, ours_idle)
        ours_bytes = sum(size for _, size, _ in ours_frames)
        sent_text = widget_text([m for _, _, batch in ours_frames for m in batch])

        run_and_wait(page, cells.nth(3), 4)
        facts = cells.nth(3).locator(".jp-OutputArea-output").inner_text().strip().split("|")
        count, last, job_end, plain_end = int(facts[0]), facts[1], float(facts[2]), float(facts[3])
        pane = cells.nth(2).locator(".jupyter-widget-Collapse-contents").nth(1)
        visible = len(pane.inner_text())
        plain_saved, saved = saved_output_bytes(page, lab.root / "chatty.ipynb")[1:3]

        states = watch_progress(page, cells.nth(4), 5)

    log_chars = lines * 50
    idle = max(0.0, ours_idle - job_end)
    plain_after = max(0.0, plain_idle - plain_end)
    say(f"  plain cell: page idle {fmt_s(plain_after)} after its last print; "
        f"{plain_bytes / 1e6:.1f} MB over the websocket; saved output {plain_saved / 1e3:,.0f} KB")
    say(f"  %%aws_batch: page idle {fmt_s(idle)} after the job's end; {ours_bytes / 1e3:,.0f} KB "
        f"over the websocket for {sent_text / 1e3:,.0f} KB of text sent to the widget "
        f"(log {log_chars / 1e6:.1f} MB, {visible / 1e3:,.0f} KB visible at the end)")
    say(f"  run.logs: {count:,} lines, last {last}; saved output {saved / 1e3:,.0f} KB")
    say(f"  progress bar: {len(states)} intermediate states shown live")
    bench.rows += [
        Row("chatty cell: page idle after the work ends", fmt_s(idle), fmt_s(plain_after),
            "-", "<= 2 s", idle <= 2),
        Row("chatty cell: websocket bytes / text sent", f"{ours_bytes / 1e3:,.0f} KB",
            f"{sent_text / 1e3:,.0f} KB", f"{ours_bytes / max(1, sent_text):.2f}x", "<= 3x",
            ours_bytes <= 3 * sent_text),
        Row("chatty cell: websocket bytes vs plain print", f"{ours_bytes / 1e6:.2f} MB",
            f"{plain_bytes / 1e6:.2f} MB", f"{plain_bytes / max(1, ours_bytes):.1f}x less",
            "(info)", None),
        Row("chatty cell: saved output", f"{saved / 1e3:,.0f} KB", f"{plain_saved / 1e3:,.0f} KB",
            "-", "<= 200 KB", saved <= 200_000),
        Row("chatty cell: run.logs complete", f"{count:,} lines", f"{lines:,}", "-",
            "all", count == lines and last == f"line {lines - 1:06d}"[:11]),
        Row("10 s progress bar: live states", str(len(states)), "-", "-", ">= 5",
            len(states) >= 5),
    ]


def watch_progress(page: Any, cell: Any, number: int) -> set[int]:
    """Run the progress cell, reading its main pane every 0.1 s; the percentages seen below
    100 while it ran (each state is one line updated in place)."""
    from playwright.sync_api import expect

    from tests.browser.lab import run_cell

    run_cell(page, cell)
    pane = cell.locator(".jupyter-widget-Collapse-contents").nth(1)
    prompt = cell.locator(".jp-InputPrompt")
    seen: set[int] = set()
    deadline = time.time() + 120
    while time.time() < deadline and prompt.inner_text() != f"[{number}]:":
        found = re.findall(r"training +(\d+)%", pane.inner_text() if pane.count() else "")
        if len(found) > 1:
            raise AssertionError(f"the bar shows on {len(found)} lines, not one")
        seen.update(int(percent) for percent in found if 0 < int(percent) < 100)
        time.sleep(0.1)
    expect(prompt).to_have_text(f"[{number}]:", timeout=60_000)
    return seen

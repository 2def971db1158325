"""How ``run.timeline`` reads: one compact line for the summary, a small bar chart for the widget.

    upload 12.1 s · queue 41 s · stage-in 3 s · main 2 m 10 s · stage-out 4 s · download 8.3 s
"""

from __future__ import annotations

import html

from batchmagic.run.timeline import Timeline

# The line always shows the staging and the job's phases; prepare, submit and cleanup only when
# they took this long (a first cell that starts the emulator) - run.timeline has them all.
ALWAYS_SHOWN = frozenset({"upload", "queue", "stage-in", "main", "stage-out", "download"})
SHOWN_FROM = 0.5

PHASE_COLOURS = {
    "prepare": "#adb5bd", "upload": "#6f42c1", "submit": "#adb5bd", "queue": "#ced4da",
    "stage-in": "#0dcaf0", "main": "#fd7e14", "stage-out": "#0dcaf0", "download": "#6f42c1",
    "cleanup": "#adb5bd",
}


def format_duration(seconds: float) -> str:
    """``0.31 s``, ``8.3 s``, ``41 s``, ``2 m 10 s``, ``1 h 5 m``."""
    if seconds < 59.5:
        return f"{seconds:.2f} s" if seconds < 0.995 else f"{seconds:.3g} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {secs} s" if secs else f"{minutes} m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} m" if minutes else f"{hours} h"


def timeline_line(timeline: Timeline) -> str:
    """The phases in order: ``upload 12.1 s · queue 41 s · ... · main 2 m 10 s · ...``."""
    return " · ".join(f"{phase.name} {format_duration(phase.duration)}" for phase in timeline
                      if phase.name in ALWAYS_SHOWN or phase.duration >= SHOWN_FROM)


def timeline_chart_html(timeline: Timeline) -> str:
    """One horizontal bar, a segment per phase as wide as its share of the run, with the
    compact line under it; each segment's tooltip gives its phase and duration."""
    total = timeline.total
    if not timeline or total <= 0:
        return ""
    segments = []
    for phase in timeline:
        share = 100 * phase.duration / total
        if share <= 0:
            continue
        label = html.escape(f"{phase.name} {format_duration(phase.duration)}")
        text = html.escape(phase.name) if share >= 12 else ""
        colour = PHASE_COLOURS.get(phase.name, "#adb5bd")
        segments.append(
            f'<div title="{label}" style="width:{share:.2f}%;min-width:1px;background:{colour};'
            f'overflow:hidden;white-space:nowrap;font-size:11px;line-height:16px;'
            f'color:white;text-align:center">{text}</div>'
        )
    bar = ('<div style="display:flex;width:100%;max-width:640px;height:16px;border-radius:3px;'
           f'overflow:hidden;background:#f1f3f5">{"".join(segments)}</div>')
    return (f'<div class="batchmagic-timeline">{bar}<div style="font-size:12px;color:#495057">'
            f"{html.escape(timeline_line(timeline))} "
            f"(total {html.escape(format_duration(total))})</div></div>")

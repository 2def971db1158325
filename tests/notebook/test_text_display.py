"""The text display (terminal IPython, frontends without widgets): batched writes, progress
lines redrawn in place."""

from __future__ import annotations

from batchmagic.notebook.text_display import TextDisplay


def test_progress_updates_redraw_one_line_in_place() -> None:
    written: list[str] = []
    display = TextDisplay(out=written.append)
    display.lines("main", ["epoch 1", "  0%|", "\r 50%|#####", "\r100%|##########|", "done"])
    display.flush()
    assert written == ["epoch 1\n  0%|\r 50%|#####\r100%|##########|\ndone"]


def test_a_shorter_state_covers_a_longer_one_and_other_containers_start_a_new_line() -> None:
    written: list[str] = []
    display = TextDisplay(out=written.append)
    display.lines("main", ["downloading 100 MB", "\rok"])
    display.lines("stage-out", ["upload: out.csv"])
    display.note("over")
    display.flush()
    assert written == ["downloading 100 MB\r" + "ok".ljust(18) + "\n[stage-out] upload: out.csv"
                       "\n[batchmagic] over"]


def test_the_cloudwatch_link_escapes_names_as_the_console_does() -> None:
    from batchmagic.notebook.format import log_console_url

    assert log_console_url("eu-west-1", "batchmagic/main/0f3c") == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "#logsV2:log-groups/log-group/$252Faws$252Fbatch$252Fjob"
        "/log-events/batchmagic$252Fmain$252F0f3c")

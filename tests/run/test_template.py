"""Cell templating and the syntax check that runs before anything is uploaded."""

from __future__ import annotations

import pytest

from batchmagic.errors import ConfigurationError
from batchmagic.run.template import check_python, render_cell

CONTEXT = {"workingDir": "/work", "outputDir": "/work/.outputs", "jobName": "j", "runId": "r1"}


def test_renders_known_names_and_keeps_trailing_newline() -> None:
    source = 'open("{{ workingDir }}/a.txt")\nprint("{{outputDir}}", "{{ runId }}")\n'
    assert render_cell(source, CONTEXT) == (
        'open("/work/a.txt")\nprint("/work/.outputs", "r1")\n'
    )


def test_plain_python_with_braces_is_untouched() -> None:
    source = 'd = {"a": {1, 2}}\nf"{d}"\nx = {k: v for k, v in d.items()}\n'
    assert render_cell(source, CONTEXT) == source


def test_unknown_name_names_the_line_and_the_way_out() -> None:
    source = "a = 1\nb = '{{ workingDir }}'\nc = '{{ nope }}'\n"
    with pytest.raises(ConfigurationError) as info:
        render_cell(source, CONTEXT)
    message = str(info.value)
    assert "'nope' is undefined" in message
    assert "line 3" in message
    assert "c = '{{ nope }}'" in message
    assert "--no-template" in message
    assert "workingDir" in message  # the known names are listed


def test_fstring_escapes_break_templating_with_a_helpful_message() -> None:
    source = 'name = "x"\nprint(f"{{{name}}}")\n'
    with pytest.raises(ConfigurationError, match="--no-template"):
        render_cell(source, CONTEXT)


def test_syntax_error_names_the_line() -> None:
    source = "x = 1\n{% for i in x %}\nprint(i)\n"
    with pytest.raises(ConfigurationError) as info:
        render_cell(source, CONTEXT)
    message = str(info.value)
    assert "line" in message and "--no-template" in message
    assert "endfor" in message or "end of template" in message


def test_template_control_flow_works() -> None:
    source = "{% for i in range(2) %}print({{ i }})\n{% endfor %}"
    assert render_cell(source, {}) == "print(0)\nprint(1)\n"


def test_check_python_accepts_valid_code() -> None:
    check_python("import os\nprint(os.getcwd())\n")
    # The kernel module's __future__ imports must not leak into the check.
    check_python("from __future__ import annotations\nx: int = 1\n")


def test_check_python_points_at_the_line_with_a_caret() -> None:
    source = "a = 1\nb = 2\nprint(a b)\n"
    with pytest.raises(ConfigurationError) as info:
        check_python(source)
    message = str(info.value)
    assert "line 3" in message
    assert "print(a b)" in message
    assert "^" in message
    assert "Nothing was uploaded" in message


def test_check_python_caret_position() -> None:
    with pytest.raises(ConfigurationError) as info:
        check_python("x = = 2\n")
    lines = str(info.value).splitlines()
    code_line = next(line for line in lines if "x = = 2" in line)
    caret_line = lines[lines.index(code_line) + 1]
    assert caret_line.strip().startswith("^")
    assert code_line[caret_line.index("^")] == "="


def test_check_python_indentation_and_null_bytes() -> None:
    with pytest.raises(ConfigurationError, match="IndentationError"):
        check_python("if True:\nprint(1)\n")
    with pytest.raises(ConfigurationError, match=r"cannot be compiled|null"):
        check_python("x = 1\x00\n")


HINT = ("If the cell is plain Python that happens to contain '{{', '{%' or '{#' (e.g. an f-string "
        "with escaped braces), turn templating off with --no-template.")


@pytest.mark.parametrize(("source", "context", "message"), [
    ("a = 1\nb = '{{ nope }}'\n", CONTEXT,
     "Cell template error at line 2: 'nope' is undefined. Known names: jobName, outputDir, "
     "runId, workingDir.\n    2 | b = '{{ nope }}'\n"),
    ("{{ nope }}", {}, "Cell template error at line 1: 'nope' is undefined. Known names: none.\n"
                       "    1 | {{ nope }}\n"),
    ("x = 1\n{% for i in x %}\nprint(i)\n", CONTEXT,
     "Cell template error at line 2: Unexpected end of template. Jinja was looking for the "
     "following tags: 'endfor' or 'else'. The innermost block that needs to be closed is "
     "'for'.\n    2 | {% for i in x %}\n"),
    ("x = 1\n{{ 'a' | nofilter }}\n", CONTEXT,
     "Cell template error at line 2: No filter named 'nofilter'.\n"
     "    2 | {{ 'a' | nofilter }}\n"),
    ("x = 1\ny = '{{ workingDir.x.y }}'\n", CONTEXT,
     "Cell template error at line 2: 'str object' has no attribute 'x'. Known names: jobName, "
     "outputDir, runId, workingDir.\n    2 | y = '{{ workingDir.x.y }}'\n"),
    ("{{ runId + 1 }}\n", CONTEXT,
     "Cell template error at line 1: TypeError: can only concatenate str (not \"int\") to str"
     "\n    1 | {{ runId + 1 }}\n"),
])
def test_each_template_error_is_one_message_with_the_line_and_the_way_out(
        source: str, context: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        render_cell(source, context)
    assert str(info.value) == message + HINT


@pytest.mark.parametrize(("source", "message"), [
    ("a = 1\nb = 2\nprint(a b)\n",
     "SyntaxError in the cell at line 3: invalid syntax. Perhaps you forgot a comma?\n"
     "    3 | print(a b)\n              ^^^"),
    ("x = = 2\n", "SyntaxError in the cell at line 1: invalid syntax\n    1 | x = = 2\n"
                  "            ^"),
    ("if True:\nprint(1)\n", "IndentationError in the cell at line 2: expected an indented "
     "block after 'if' statement on line 1\n    2 | print(1)\n        ^^^^^"),
    ("x = (1,\n 2 +)\n", "SyntaxError in the cell at line 2: invalid syntax\n    2 |  2 +)\n"
                         "            ^"),
    ("del f()\n", "SyntaxError in the cell at line 1: cannot delete function call\n"
                  "    1 | del f()\n            ^^^"),
    # A caret never runs past the end of the line.
    ("s = 'abc\n", "SyntaxError in the cell at line 1: unterminated string literal (detected at "
                   "line 1)\n    1 | s = 'abc\n            ^"),
])
def test_a_syntax_error_shows_the_line_and_a_caret_under_the_culprit(source: str,
                                                                      message: str) -> None:
    assert _compile_error(source) == message + "\nNothing was uploaded or submitted."


def test_null_bytes_are_refused_without_a_line() -> None:
    with pytest.raises(ConfigurationError) as info:
        check_python("x = 1\x00\n")
    assert str(info.value) == (
        "The cell cannot be compiled: source code string cannot contain null bytes")


def test_a_filter_that_only_runs_when_reached_is_reported_when_reached() -> None:
    source = "x = 1\n{% if flag %}{{ 'a' | nofilter }}{% endif %}\n"
    assert render_cell(source, {"flag": False}) == "x = 1\n\n"
    with pytest.raises(ConfigurationError) as info:
        render_cell(source, {"flag": True})
    assert str(info.value) == (
        "Cell template error at line 2: No filter named 'nofilter' found.\n"
        "    2 | {% if flag %}{{ 'a' | nofilter }}{% endif %}\n" + HINT)


def test_the_check_accepts_what_the_job_accepts() -> None:
    # Compiled without this module's `from __future__ import annotations`, under which a
    # `yield` in a local annotation would be refused although the job runs it.
    check_python("def g():\n    x: (yield) = 1\n")


@pytest.mark.parametrize("odd", ["\u2028", "\u2029", "\x0c", "\x0b", "\x1c", "\x85"])
def test_characters_other_tools_break_lines_at_do_not_shift_the_excerpt(odd: str) -> None:
    # Python and Jinja count lines at \n, \r\n and \r only; str.splitlines() also at these.
    with pytest.raises(ConfigurationError) as info:
        check_python(f"s = 'a{odd}b'\nx = = 2\n")
    assert str(info.value) == ("SyntaxError in the cell at line 2: invalid syntax\n"
                               "    2 | x = = 2\n            ^\n"
                               "Nothing was uploaded or submitted.")
    with pytest.raises(ConfigurationError) as info:
        render_cell(f"s = 'a{odd}b'\nc = '{{{{ nope }}}}'\n", {})
    assert str(info.value) == ("Cell template error at line 2: 'nope' is undefined. Known "
                               "names: none.\n    2 | c = '{{ nope }}'\n" + HINT)


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_windows_and_old_mac_line_ends_name_the_right_line(newline: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        check_python(f"a = 1{newline}x = = 2{newline}")
    assert str(info.value).splitlines()[1:3] == ["    2 | x = = 2", "            ^"]
    with pytest.raises(ConfigurationError) as info:
        render_cell(f"a = 1{newline}{{{{ nope }}}}{newline}", {})
    assert str(info.value).splitlines()[1] == "    2 | {{ nope }}"


@pytest.mark.parametrize(("source", "message"), [
    # The error spans two lines: one caret where it starts, not a width from the other line.
    ("(a,\n b) += 1\n", "SyntaxError in the cell at line 1: 'tuple' is an illegal expression "
                        "for augmented assignment\n    1 | (a,\n        ^"),
    # No end reported (end_offset 0 or -1): one caret, even just past the end of the line.
    ("def f(\n", "SyntaxError in the cell at line 1: '(' was never closed\n"
                 "    1 | def f(\n             ^"),
    ("if True:", "IndentationError in the cell at line 1: expected an indented block after "
                 "'if' statement on line 1\n    1 | if True:\n                ^"),
    ("x = 10_\n", "SyntaxError in the cell at line 1: invalid decimal literal\n"
                  "    1 | x = 10_\n              ^"),
])
def test_the_caret_is_one_wide_where_python_gives_no_usable_end(source: str,
                                                                 message: str) -> None:
    assert _compile_error(source) == message + "\nNothing was uploaded or submitted."


def test_values_are_rendered_as_they_are_never_html_escaped() -> None:
    context = {"query": "a < b & c > 'd' \"e\""}
    assert render_cell("q = '''{{ query }}'''\n", context) == (
        "q = '''a < b & c > 'd' \"e\"'''\n")


def test_an_error_past_the_last_line_shows_the_line_python_read() -> None:
    # Python 3.8/3.9 (a kernel may run them) report an unexpected end of file on the line after
    # the last, with the text they read and no end position.
    from batchmagic.run.template import _syntax_message

    error = SyntaxError("unexpected EOF while parsing", ("<aws_batch cell>", 3, 9, "if True:\n"))
    assert _syntax_message("x = 1\nif True:\n", error) == (
        "SyntaxError in the cell at line 3: unexpected EOF while parsing\n"
        "    3 | if True:\n                ^\nNothing was uploaded or submitted.")


@pytest.mark.parametrize(("source", "name"), [
    ('x = 1\n{% include "setup.py" %}\n', "setup.py"),
    ('{% import "macros" as m %}\n', "macros"),
    ('{% from "macros" import f %}\n', "macros"),
    ('{% extends "base" %}\n', "base"),
])
def test_including_another_template_says_there_is_none(source: str, name: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        render_cell(source, {})
    line = source.count("\n", 0, source.index("{%")) + 1
    assert str(info.value).startswith(
        f"Cell template error at line {line}: '{name}': a cell template is the cell alone, "
        "there are no other templates to include, import or extend; put that text in the cell\n"
        f"    {line} | ")


def test_the_caret_keeps_the_tabs_before_the_culprit() -> None:
    assert _compile_error("if True:\n\tx = (1 +)\n") == (
        "SyntaxError in the cell at line 2: invalid syntax\n"
        "    2 | \tx = (1 +)\n"
        "        \t        ^\n"
        "Nothing was uploaded or submitted.")


def _compile_error(source: str) -> str:
    """The one error check_python refuses ``source`` with."""
    with pytest.raises(ConfigurationError) as info:
        check_python(source)
    return str(info.value)

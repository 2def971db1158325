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
    with pytest.raises(ConfigurationError) as info:
        check_python(source)
    assert str(info.value) == message + "\nNothing was uploaded or submitted."


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

"""The cell as a Jinja2 template, and a syntax check of the result before anything is uploaded.

Like Kestra's scripts, a cell may say ``{{ workingDir }}`` or ``{{ outputDir }}``. Python code
rarely contains ``{{``, ``{%`` or ``{#`` — but f-strings with escaped braces (``f"{{x}}"``) and
some dict/set literals do, so every template error message says how to switch templating off.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from typing import Any

import jinja2

from batchmagic.errors import ConfigurationError

TEMPLATE_NAME = "<template>"
NO_TEMPLATE_HINT = (
    "If the cell is plain Python that happens to contain '{{', '{%' or '{#' (e.g. an f-string "
    "with escaped braces), turn templating off with --no-template."
)


class _NoOtherFiles(jinja2.BaseLoader):
    """A cell is one template: ``{% include %}``, ``{% import %}`` and ``{% extends %}`` have
    nothing to read, and say so (without a loader Jinja only says "no loader for this
    environment specified")."""

    def get_source(self, environment: jinja2.Environment, template: str) -> Any:
        raise jinja2.TemplateNotFound(
            template, f"'{template}': a cell template is the cell alone, there are no other "
                      "templates to include, import or extend; put that text in the cell")


_ENVIRONMENT = jinja2.Environment(
    loader=_NoOtherFiles(),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
)


def render_cell(source: str, context: Mapping[str, Any]) -> str:
    """Render the cell with ``context`` (workingDir, outputDir, the run's values).

    Unknown names and template syntax errors raise ConfigurationError naming the line.
    """
    try:
        template = _ENVIRONMENT.from_string(source)
    except jinja2.TemplateSyntaxError as error:
        raise ConfigurationError(
            f"Cell template error at line {error.lineno}: {error.message}\n"
            f"{_excerpt(source, error.lineno)}{NO_TEMPLATE_HINT}"
        ) from None
    try:
        return template.render(**context)
    except jinja2.UndefinedError as error:
        line = _template_line(error)
        where = f" at line {line}" if line else ""
        known = ", ".join(sorted(context)) or "none"
        raise ConfigurationError(
            f"Cell template error{where}: {error.message}. Known names: {known}.\n"
            f"{_excerpt(source, line)}{NO_TEMPLATE_HINT}"
        ) from None
    except jinja2.TemplateError as error:
        line = _template_line(error)
        where = f" at line {line}" if line else ""
        raise ConfigurationError(
            f"Cell template error{where}: {error}\n{_excerpt(source, line)}{NO_TEMPLATE_HINT}"
        ) from None
    except Exception as error:  # an expression that fails: {{ runId + 1 }}...
        line = _template_line(error)
        where = f" at line {line}" if line else ""
        raise ConfigurationError(
            f"Cell template error{where}: {type(error).__name__}: {error}\n"
            f"{_excerpt(source, line)}{NO_TEMPLATE_HINT}"
        ) from None


def _template_line(error: BaseException) -> int | None:
    """The template line an error was raised at: Jinja rewrites tracebacks to point at it."""
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == TEMPLATE_NAME:
            line = frame.lineno
    return line


# The line breaks Python and Jinja count lines by. str.splitlines() also breaks at \v, \f,
# \x1c-\x1e, \x85, U+2028 and U+2029, which a cell may hold in a string or a comment: the
# excerpt would then show another line than the one the error names.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _source_lines(source: str) -> list[str]:
    lines = _LINE_BREAK.split(source)
    if lines and lines[-1] == "":
        lines.pop()  # a final line break ends the last line, it starts none
    return lines


def _excerpt(source: str, line: int | None) -> str:
    lines = _source_lines(source)
    if not line or not 1 <= line <= len(lines):
        return ""
    return f"    {line} | {lines[line - 1]}\n"


def check_python(source: str, *, filename: str = "<aws_batch cell>") -> None:
    """Compile the rendered cell; a SyntaxError becomes a ConfigurationError with a caret excerpt.

    Compiled with the kernel's Python: the default image has the same major.minor.
    """
    try:
        compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        if not error.lineno:  # null bytes: this Python says so with a SyntaxError of no line
            raise ConfigurationError(f"The cell cannot be compiled: {error.msg}") from None
        raise ConfigurationError(_syntax_message(source, error)) from None
    except ValueError as error:  # older Pythons: a ValueError for the same null bytes
        raise ConfigurationError(f"The cell cannot be compiled: {error}") from None


def _syntax_message(source: str, error: SyntaxError) -> str:
    line = error.lineno or 0
    kind = type(error).__name__
    message = f"{kind} in the cell at line {line}: {error.msg}"
    lines = _source_lines(source)
    text = lines[line - 1] if 1 <= line <= len(lines) else (error.text or "").rstrip("\n")
    if text:
        prefix = f"    {line} | "
        message += f"\n{prefix}{text}"
        if error.offset and error.offset > 0:
            end = getattr(error, "end_offset", None) or error.offset + 1
            if getattr(error, "end_lineno", line) != line or end <= error.offset:
                end = error.offset + 1
            width = min(end, len(text) + 2) - error.offset
            # Tabs before the culprit stay tabs, so the caret lands under it wherever the
            # reader's tab stops are.
            pad = "".join(c if c == "\t" else " " for c in text[:error.offset - 1])
            message += "\n" + " " * len(prefix) + pad + "^" * max(1, width)
    return message + "\nNothing was uploaded or submitted."

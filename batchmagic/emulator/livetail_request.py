"""A StartLiveTail request, checked as CloudWatch Logs checks it, and its filter pattern."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from batchmagic.emulator.logsink import ACCOUNT_ID


class LiveTailError(Exception):
    """A request error, answered as a JSON 1.1 error (HTTP 400, ``__type``)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def invalid(message: str) -> LiveTailError:
    return LiveTailError("InvalidParameterException", message)


class FilterPattern:
    """The term subset of CloudWatch Logs filter patterns, case-sensitive substring matches.

    ``""`` matches everything; ``ERROR 404`` needs both terms; ``"exact phrase"`` is one term;
    ``?ERROR ?WARN`` needs at least one of the ``?`` terms; ``-DEBUG`` excludes a term.
    JSON (``{...}``), space-delimited (``[...]``) and regex (``%...%``) patterns are rejected.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.required: list[str] = []
        self.optional: list[str] = []
        self.excluded: list[str] = []
        text = pattern.strip()
        if text[:1] in ("{", "[", "%"):
            raise invalid("This emulator supports only term filter patterns in "
                           f"logEventFilterPattern, not {pattern!r}.")
        position = 0
        while position < len(text):
            if text[position].isspace():
                position += 1
                continue
            kind = text[position] if text[position] in "?-" else ""
            position += len(kind)
            if position < len(text) and text[position] == '"':
                end = text.find('"', position + 1)
                if end < 0:
                    raise invalid(f"Unterminated quote in filter pattern {pattern!r}.")
                term, position = text[position + 1:end], end + 1
            else:
                end = position
                while end < len(text) and not text[end].isspace():
                    end += 1
                term, position = text[position:end], end
            if term:
                {"?": self.optional, "-": self.excluded, "": self.required}[kind].append(term)

    def matches(self, message: str) -> bool:
        return (all(term in message for term in self.required)
                and (not self.optional or any(term in message for term in self.optional))
                and not any(term in message for term in self.excluded))


@dataclass
class TailedGroup:
    identifier: str  # as the client gave it
    name: str
    account: str
    region: str


@dataclass
class LiveTailRequest:
    groups: list[TailedGroup]
    stream_names: list[str] | None
    stream_prefixes: list[str] | None
    filter: FilterPattern

    def wants(self, stream_name: str) -> bool:
        if self.stream_names is not None:
            return stream_name in self.stream_names
        if self.stream_prefixes is not None:
            return any(stream_name.startswith(p) for p in self.stream_prefixes)
        return True


def _string_list(body: dict[str, Any], key: str, most: int,
                 required: bool = False) -> list[str] | None:
    value = body.get(key)
    if value is None:
        if required:
            raise invalid(f"1 validation error detected: Value null at '{key}' failed to "
                           "satisfy constraint: Member must not be null")
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise invalid(f"{key} must be a list of non-empty strings.")
    if not 1 <= len(value) <= most:
        raise invalid(f"1 validation error detected: Value at '{key}' failed to satisfy "
                       f"constraint: Member must have length between 1 and {most}")
    return list(value)


def _group(identifier: str, region: str) -> TailedGroup:
    if identifier.endswith("*"):
        raise invalid("A log group ARN in logGroupIdentifiers can't end with an asterisk (*).")
    if not identifier.startswith("arn:"):
        return TailedGroup(identifier, identifier, ACCOUNT_ID, region)
    # arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME
    parts = identifier.split(":", 6)
    if len(parts) != 7 or parts[2] != "logs" or parts[5] != "log-group" or not parts[6]:
        raise invalid(f"{identifier!r} is not a log group ARN.")
    return TailedGroup(identifier, parts[6], parts[4], parts[3])


def parse_request(body: dict[str, Any], region: str) -> LiveTailRequest:
    identifiers = _string_list(body, "logGroupIdentifiers", 10, required=True) or []
    names = _string_list(body, "logStreamNames", 100)
    prefixes = _string_list(body, "logStreamNamePrefixes", 100)
    if names is not None and prefixes is not None:
        raise invalid("Only one of logStreamNames or logStreamNamePrefixes can be provided.")
    if (names is not None or prefixes is not None) and len(identifiers) != 1:
        raise invalid("logStreamNames and logStreamNamePrefixes can only be used with a "
                       "single log group.")
    pattern = body.get("logEventFilterPattern") or ""
    if not isinstance(pattern, str) or len(pattern) > 1024:
        raise invalid("logEventFilterPattern must be a string of at most 1024 characters.")
    return LiveTailRequest([_group(i, region) for i in identifiers], names, prefixes,
                           FilterPattern(pattern))

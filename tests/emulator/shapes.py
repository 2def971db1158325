"""A shape walker: does a raw JSON response body match botocore's output shape?

botocore's parser silently drops members it does not know and does not check types, so a
response that AWS could never send would pass unnoticed. This walks the *raw* body against the
operation's output shape: no unknown members, the right JSON type for each member, enum values
from the model, required members present.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

_NUMBER_TYPES = ("integer", "long", "float", "double")
# Members the model calls required that AWS itself leaves out: JobDetail.startedAt is absent
# until the job starts (public report brendanhay/amazonka#561, "Set startedAt as optional").
NOT_REALLY_REQUIRED = {("JobDetail", "startedAt")}


def shape_problems(value: Any, shape: Shape, path: str = "$") -> list[str]:
    """Every way ``value`` (decoded JSON) differs from ``shape``; empty when it matches."""
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return [f"{path}: expected an object ({shape.name}), got {type(value).__name__}"]
        problems = [f"{path}.{key}: not a member of {shape.name}"
                    for key in value if key not in shape.members]
        problems += [f"{path}.{key}: required member of {shape.name} missing"
                     for key in shape.required_members
                     if key not in value and (shape.name, key) not in NOT_REALLY_REQUIRED]
        for key, item in value.items():
            if key in shape.members:
                problems += shape_problems(item, shape.members[key], f"{path}.{key}")
        return problems
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        return [p for i, item in enumerate(value)
                for p in shape_problems(item, shape.member, f"{path}[{i}]")]
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {type(value).__name__}"]
        return [p for key, item in value.items()
                for p in [*shape_problems(key, shape.key, f"{path}<key>"),
                          *shape_problems(item, shape.value, f"{path}[{key!r}]")]]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string, got {value!r}"]
        enum = shape.enum
        if enum and value not in enum:
            return [f"{path}: {value!r} is not one of {shape.name}'s values {enum}"]
        return []
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {value!r}"]
    if kind in _NUMBER_TYPES:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if kind in ("integer", "long"):
            ok = ok and float(value).is_integer()
        return [] if ok else [f"{path}: expected {kind}, got {value!r}"]
    if kind == "timestamp":
        ok = isinstance(value, int | float | str) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a timestamp, got {value!r}"]
    return [f"{path}: no check for shape type {kind}"]


def response_problems(operation: OperationModel, body: bytes) -> list[str]:
    """Problems of a successful response body for ``operation`` (empty body: no output)."""
    shape = operation.output_shape
    if shape is None:
        return [] if not body.strip() or json.loads(body) == {} else [
            f"{operation.name}: a body where the model has no output"]
    decoded = json.loads(body) if body.strip() else {}
    return [f"{operation.name} {p}" for p in shape_problems(decoded, shape)]


class ShapeRecorder:
    """A botocore ``after-call`` hook: walks every successful response; keeps the problems
    and the operations seen."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.operations: set[str] = set()

    def __call__(self, http_response: Any, model: OperationModel, **_: Any) -> None:
        if http_response.status_code >= 300:
            return
        self.operations.add(model.name)
        self.problems += response_problems(model, http_response.content)

    def attach(self, client: Any) -> Any:
        client.meta.events.register("after-call.batch", self)
        return client

"""The checks a spec field runs: each takes (field path, value) and returns the typed value, or
raises UsageError naming the field and how to fix it. `spec_field` attaches one to a field of a
typed spec (`vmafx.core.specs`), and `parse_fields` runs them over a JSON object."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from vmafx.errors import UsageError

#: A check takes (field path, value) and returns the typed value or raises UsageError.
Check = Callable[[str, Any], Any]
T = TypeVar("T")

MAX_INFER_ROWS = 10_000


def spec_field(check: Check, *, default: Any = dataclasses.MISSING, example: str = "") -> Any:
    """A typed spec's field: its check, its default (none: required) and an example value
    shown when it is missing or wrong."""
    metadata = {"check": check, "example": example}
    if isinstance(default, tuple | list):
        frozen = tuple(default)
        return dataclasses.field(default_factory=lambda: frozen, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def fail(path: str, problem: str, example: str = "") -> UsageError:
    return UsageError(
        f"spec field {path!r} {problem}.", hint=f"For example: {example}." if example else None
    )


def parse_fields(cls: type[T], path: str, data: Mapping[str, Any]) -> T:
    """`data` checked field by field against the dataclass `cls`; unknown fields refused."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    names = {field.name for field in fields}
    unknown = sorted(set(data) - names)
    if unknown:
        raise UsageError(
            f"unknown field {unknown[0]!r} in {path}.",
            hint=f"Allowed fields: {', '.join(sorted(names))}.",
        )
    values: dict[str, Any] = {}
    for field in fields:
        value = data.get(field.name)
        if value is None:
            required = field.default is dataclasses.MISSING
            if required and field.default_factory is dataclasses.MISSING:
                raise fail(f"{path}.{field.name}", "is required", field.metadata["example"])
            continue
        values[field.name] = field.metadata["check"](f"{path}.{field.name}", value)
    return cls(**values)


def text(path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(path, f"must be a non-empty string, got {value!r}")
    return value


def one_of(*choices: str) -> Check:
    def check(path: str, value: Any) -> str:
        if value not in choices:
            raise fail(path, f"must be one of {', '.join(choices)}, got {value!r}")
        return str(value)

    return check


def number(low: float | None = None, high: float | None = None, *, integer: bool = False) -> Check:
    def check(path: str, value: Any) -> float | int:
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or not math.isfinite(value) or (integer and not isinstance(value, int)):
            kind = "an integer" if integer else "a finite number"
            raise fail(path, f"must be {kind}, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise fail(path, f"must lie in [{low}, {high}], got {value!r}")
        return int(value) if integer else float(value)

    return check


def flag(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise fail(path, f"must be true or false, got {value!r}")
    return value


def text_list(*, most: int, choices: tuple[str, ...] = ()) -> Check:
    """A string or a non-empty list of strings (a tuple in the typed spec)."""

    def check(path: str, value: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or len(items) > most:
            raise fail(path, f"must be a string or a list of 1 to {most} strings, got {value!r}")
        checker = one_of(*choices) if choices else text
        return tuple(checker(f"{path}[{index}]", item) for index, item in enumerate(items))

    return check


def number_list(low: float, high: float, *, most: int) -> Check:
    """A number or a non-empty list of numbers in [low, high] (a tuple in the typed spec)."""
    each = number(low, high)

    def check(path: str, value: Any) -> tuple[float, ...]:
        items = [value] if isinstance(value, int | float) else value
        if not isinstance(items, list) or not items or len(items) > most:
            raise fail(path, f"must be a number or a list of 1 to {most} numbers, got {value!r}")
        return tuple(float(each(f"{path}[{index}]", item)) for index, item in enumerate(items))

    return check


def nested(cls: type[Any]) -> Check:
    """An object checked against the typed spec part `cls` (a dataclass of spec fields)."""

    def check(path: str, value: Any) -> Any:
        if not isinstance(value, dict):
            raise fail(path, f"must be an object, got {value!r}")
        return parse_fields(cls, path, value)

    return check


def rows(path: str, value: Any) -> tuple[tuple[float, ...], ...]:
    """Feature rows for inference: a non-empty list of equally long lists of numbers."""
    if not isinstance(value, list) or not value or len(value) > MAX_INFER_ROWS:
        raise fail(path, f"must be a list of 1 to {MAX_INFER_ROWS} rows", "[[0.93, 0.71, ...]]")
    to_number = number()
    width = len(value[0]) if isinstance(value[0], list) else -1
    result: list[tuple[float, ...]] = []
    for index, row in enumerate(value):
        if not isinstance(row, list) or not row or len(row) != width:
            raise fail(f"{path}[{index}]", "must be a non-empty list of numbers as long as row 0")
        result.append(
            tuple(to_number(f"{path}[{index}][{col}]", cell) for col, cell in enumerate(row))
        )
    return tuple(result)


def to_json(value: Any) -> Any:
    """A typed spec (or part) as JSON: fields that are None left out, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if item is not None:
                out[field.name] = to_json(item)
        return out
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    return value

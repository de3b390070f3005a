"""The one JSON codec for job specs and results: what goes on the gRPC wire (`spec_json`,
`result_json`), what the HTTP API and `vmafx jobs ... --format json` print, and what the stores
keep all pass through here, so they hold the same document.

`encode` writes compact, key-sorted JSON and refuses NaN and infinity (no store or client keeps
them); `decode_object` reads a JSON object ('' means unset) bounded in depth, or raises
UsageError naming the field.
"""

from __future__ import annotations

import json
from typing import Any

from vmafx.core.jobs import JsonObject
from vmafx.core.specs import (
    MAX_JSON_DEPTH,
    JobSpec,
    check_finite_json,
    check_json_depth,
    too_deep,
)
from vmafx.errors import UsageError


def document(value: JobSpec | JsonObject) -> JsonObject:
    """A spec or result as its JSON object (a typed spec by its `to_json`)."""
    return value if isinstance(value, dict) else value.to_json()


def encode(value: JobSpec | JsonObject, *, field: str = "value") -> str:
    """`value` as compact, key-sorted JSON; UsageError naming `field` if it holds NaN/infinity."""
    body = document(value)
    check_finite_json(body, field)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)


def decode_object(text: str, field: str) -> JsonObject | None:
    """A JSON object from a `*_json` field ('' means unset), or UsageError naming the field;
    its size is bounded by the transport's limit, its nesting by `MAX_JSON_DEPTH`."""
    if not text:
        return None
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{field} is not valid JSON: {error}.") from None
    except RecursionError:  # deeper than the parser goes: far past the limit
        raise too_deep(field) from None
    if not isinstance(value, dict):
        raise UsageError(f"{field} must be a JSON object, got {type(value).__name__}.")
    # A document with no more opening brackets than the limit cannot nest deeper than it
    # (counted in C, and true of nearly every spec and result): walk the tree only otherwise.
    if text.count("{") + text.count("[") > MAX_JSON_DEPTH:
        check_json_depth(value, field)
    return value

"""Each job kind's spec as JSON Schema for the OpenAPI document, generated from its typed spec
(`vmafx.core.specs`), so the document and the checks never drift: one source for both."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from vmafx.core.specs import SPEC_TYPES


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """`node` with every `$ref` to a local definition replaced by that definition."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inline(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def spec_schemas() -> list[dict[str, Any]]:
    """One JSON Schema per kind, titled `<kind> spec`, nested parts inlined."""
    out = []
    for kind, spec_type in SPEC_TYPES.items():
        schema = TypeAdapter(spec_type).json_schema()
        defs = schema.pop("$defs", {})
        out.append({**_inline(schema, defs), "title": f"{kind} spec"})
    return out

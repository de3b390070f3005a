"""The OpenAPI document's spec schemas come from the typed specs, so they cannot drift."""

from __future__ import annotations

import dataclasses

from vmafx.controller.http.schemas import JobIn
from vmafx.core.specs import SPEC_TYPES


def test_the_submit_schema_shows_every_kinds_spec_with_the_fields_of_its_typed_spec():
    shown = JobIn.model_json_schema()["properties"]["spec"]["anyOf"]
    by_title = {schema["title"]: schema for schema in shown}
    assert set(by_title) == {f"{kind} spec" for kind in SPEC_TYPES}
    for kind, spec_type in SPEC_TYPES.items():
        fields = {field.name for field in dataclasses.fields(spec_type)}
        assert set(by_title[f"{kind} spec"]["properties"]) == fields
    assert "pix_fmt" in by_title["encode spec"]["properties"]
    assert "$ref" not in str(shown)  # nested parts (resolution, trim...) are inlined

"""GET /v1/models: the trainer's registry.json in the controller's model folder, newest first."""

from __future__ import annotations

import pytest
from tests.farm import QUARANTINE_REASON, publish_models

from vmafx.ai.registry import registry_path

from .conftest import Api

pytestmark = pytest.mark.anyio


async def test_before_any_trainer_published_the_list_is_empty_and_says_where_it_looks(mem: Api):
    response = await mem.client.get("/v1/models", headers=mem.headers("reader"))
    assert response.status_code == 200
    body = response.json()
    assert (body["policy"], body["served_version"], body["versions"]) == (
        "latest-stable",
        None,
        [],
    )
    assert "No trainer has published" in body["note"]
    assert str(mem.models) in body["note"]


async def test_versions_come_newest_first_with_figures_status_and_the_served_one(api: Api):
    publish_models(api.models)
    response = await api.client.get("/v1/models", headers=api.headers("reader"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["served_version"] == 2  # the newest active one: v3 is quarantined, v4 unjudged
    assert body["note"] is None
    versions = body["versions"]
    assert [(v["version"], v["status"]) for v in versions] == [
        (4, "candidate"),
        (3, "quarantined"),
        (2, "active"),
        (1, "active"),
    ]
    v2 = versions[2]
    assert v2["figures"] == {"plcc": 0.96, "srocc": 0.95, "rmse": pytest.approx(0.4), "n": 120}
    assert (v2["samples"], v2["step"], v2["sha256"]) == (3200, 200, f"{2:064x}")
    assert v2["created_at"] == "2026-01-02T12:00:00+00:00"
    assert versions[1]["reason"] == QUARANTINE_REASON
    assert versions[0]["figures"] is None


async def test_a_corrupt_registry_answers_500_naming_the_file_and_the_fault(mem: Api):
    mem.models.mkdir()
    registry_path(mem.models).write_text('{"format": "vmafx-model-registry-v1", "versions": [{')
    response = await mem.client.get("/v1/models", headers=mem.headers("reader"))
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "ModelError"
    assert f"The model registry {registry_path(mem.models)} is unreadable" in error["message"]


async def test_a_registry_of_another_format_is_refused_the_same_way(mem: Api):
    mem.models.mkdir()
    registry_path(mem.models).write_text('{"format": "something-else", "versions": []}')
    response = await mem.client.get("/v1/models", headers=mem.headers("reader"))
    assert response.status_code == 500
    assert "format is 'something-else'" in response.json()["error"]["message"]


async def test_listing_models_needs_a_token_of_a_reading_role(mem: Api):
    publish_models(mem.models)
    assert (await mem.client.get("/v1/models")).status_code == 401
    assert (await mem.client.get("/v1/models", headers=mem.headers("node"))).status_code == 403
    for role in ("reader", "writer", "admin"):
        response = await mem.client.get("/v1/models", headers=mem.headers(role))
        assert response.status_code == 200, role

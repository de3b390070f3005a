"""Bad input gets a precise error: its status from the one table, and the same JSON body."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from vmafx.controller.http.errors import HTTP_STATUS, status_for
from vmafx.errors import (
    ForbiddenError,
    InputOutsideRootsError,
    StaleAttemptError,
    UsageError,
    VmafxError,
)

from .conftest import LIMITS, Api

pytestmark = pytest.mark.anyio


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"type", "message", "hint"}
    return error


async def test_malformed_json_is_400_naming_the_body(api: Api):
    response = await api.client.post(
        "/v1/jobs",
        content=b'{"kind": "score",',
        headers={**api.headers(), "content-type": "application/json"},
    )
    error = error_of(response, 400)
    assert error["type"] == "InvalidRequestError"
    assert error["fields"][0]["path"] == "body"
    assert "not valid JSON" in error["message"]


async def test_a_body_declared_over_the_limit_is_413_before_it_is_read(mem: Api):
    body = b"x" * (LIMITS.max_body_bytes + 1)
    response = await mem.client.post(
        "/v1/jobs", content=body, headers={**mem.headers(), "content-type": "application/json"}
    )
    assert error_of(response, 413)["type"] == "BodyTooLargeError"


async def test_a_chunked_body_over_the_limit_is_413(mem: Api):
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b" " * (LIMITS.max_body_bytes // 4)

    response = await mem.client.post(
        "/v1/jobs", content=chunks(), headers={**mem.headers(), "content-type": "application/json"}
    )
    assert error_of(response, 413)["type"] == "BodyTooLargeError"


async def test_a_body_just_under_the_limit_is_read(mem: Api):
    padding = " " * (LIMITS.max_body_bytes - 1000)
    body = mem.score_body()
    content = (padding + json.dumps(body)).encode()
    response = await mem.client.post(
        "/v1/jobs", content=content, headers={**mem.headers(), "content-type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def test_an_unknown_kind_is_400_listing_the_kinds(api: Api):
    response = await api.client.post(
        "/v1/jobs", json=api.score_body(kind="scoring"), headers=api.headers()
    )
    error = error_of(response, 400)
    assert error["fields"] == [{"path": "body.kind", "message": error["fields"][0]["message"]}]
    assert "'score'" in error["fields"][0]["message"]


async def test_an_unknown_field_is_400_naming_it(api: Api):
    response = await api.client.post(
        "/v1/jobs", json=api.score_body(colour="red"), headers=api.headers()
    )
    error = error_of(response, 400)
    assert error["fields"] == [{"path": "body.colour", "message": "is not a known field"}]


async def test_a_quoted_number_is_refused_not_coerced(mem: Api):
    response = await mem.client.post(
        "/v1/jobs", json=mem.score_body(priority="5"), headers=mem.headers()
    )
    assert error_of(response, 400)["fields"][0]["path"] == "body.priority"


async def test_a_spec_failing_validation_is_422_naming_the_field(api: Api):
    response = await api.client.post(
        "/v1/jobs", json=api.score_body(spec={"subsample": 0}), headers=api.headers()
    )
    error = error_of(response, 422)
    assert error["type"] == "InvalidSpecError"
    assert "subsample" in error["message"]


async def test_a_path_outside_the_scoring_roots_is_403_and_stores_nothing(api: Api):
    body = api.score_body(spec={"reference": "/etc/passwd"})
    response = await api.client.post("/v1/jobs", json=body, headers=api.headers())
    assert error_of(response, 403)["type"] == "InputOutsideRootsError"
    listed = await api.client.get("/v1/jobs", headers=api.headers("reader"))
    assert listed.json()["jobs"] == []


async def test_a_missing_token_is_401_with_a_bearer_challenge(api: Api):
    response = await api.client.get("/v1/jobs")
    assert error_of(response, 401)["type"] == "AuthError"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_wrong_token_is_401(api: Api):
    response = await api.client.get(
        "/v1/jobs", headers={"Authorization": "Bearer vmafx_not-a-token"}
    )
    assert error_of(response, 401)["type"] == "AuthError"


async def test_a_reader_trying_to_submit_is_403(api: Api):
    response = await api.client.post(
        "/v1/jobs", json=api.score_body(), headers=api.headers("reader")
    )
    assert error_of(response, 403)["type"] == "ForbiddenError"


async def test_a_node_token_cannot_read_jobs_or_follow_events(mem: Api):
    for path in ("/v1/jobs", "/v1/events", "/v1/nodes"):
        response = await mem.client.get(path, headers=mem.headers("node"))
        assert error_of(response, 403)["type"] == "ForbiddenError"


async def test_a_job_of_another_tenant_is_404_on_every_route(api: Api):
    job_id = await api.submit()
    stranger = api.headers("globex")
    for method, path in (
        ("GET", f"/v1/jobs/{job_id}"),
        ("POST", f"/v1/jobs/{job_id}/cancel"),
        ("GET", f"/v1/jobs/{job_id}/events"),
    ):
        response = await api.client.request(method, path, headers=stranger)
        assert error_of(response, 404)["type"] == "NotFoundError"
    job = await api.client.get(f"/v1/jobs/{job_id}", headers=api.headers("reader"))
    assert job.json()["state"] == "pending"


async def test_a_page_larger_than_the_maximum_is_400(mem: Api):
    response = await mem.client.get(
        "/v1/jobs", params={"limit": 5000}, headers=mem.headers("reader")
    )
    assert error_of(response, 400)["fields"][0]["path"] == "query.limit"


async def test_a_forged_cursor_is_400(api: Api):
    response = await api.client.get(
        "/v1/jobs", params={"cursor": "not-a-cursor!"}, headers=api.headers("reader")
    )
    assert error_of(response, 400)["type"] == "UsageError"


async def test_an_unknown_route_and_a_wrong_method_have_the_error_body(mem: Api):
    assert error_of(await mem.client.get("/v2/jobs"), 404)["type"] == "RouteNotFoundError"
    response = await mem.client.delete("/v1/jobs", headers=mem.headers())
    assert error_of(response, 405)["type"] == "MethodNotAllowedError"


async def test_a_last_event_id_that_is_not_a_sequence_number_is_400(mem: Api):
    job_id = await mem.submit()
    headers = {**mem.headers("reader"), "Last-Event-ID": "abc"}
    response = await mem.client.get(f"/v1/jobs/{job_id}/events", headers=headers)
    assert error_of(response, 400)["type"] == "UsageError"


def test_the_status_table_maps_the_most_specific_class_first():
    assert status_for(StaleAttemptError("late", job_id="j", attempt=1)) == 409
    assert status_for(ForbiddenError("no")) == 403
    assert status_for(InputOutsideRootsError("outside")) == 403
    assert status_for(UsageError("bad")) == 400
    assert status_for(VmafxError("bug")) == 500
    assert status_for(RuntimeError("bug")) == 500
    assert all(400 <= status < 600 for status in HTTP_STATUS.values())

"""The API's edges: numbers past what the store holds, bodies nested past any parser, and what
/metrics shows to whom."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from vmafx.scheduler import Scheduler
from vmafx.store import InMemoryJobStore

from .conftest import WAIT_S, Api

pytestmark = pytest.mark.anyio
TOO_BIG = "99999999999999999999999"


async def test_an_after_past_a_64_bit_event_id_is_refused_naming_the_limit(
    lite: Api, caplog: pytest.LogCaptureFixture
):
    job_id = await lite.submit()
    async with asyncio.timeout(WAIT_S):
        response = await lite.client.get(
            f"/v1/jobs/{job_id}/events", params={"after": TOO_BIG}, headers=lite.headers()
        )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "InvalidRequestError"
    assert error["fields"] == [
        {
            "path": "query.after",
            "message": "Input should be less than or equal to 9223372036854775807",
        }
    ]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_last_event_id_past_a_64_bit_event_id_is_refused(lite: Api):
    job_id = await lite.submit()
    headers = {**lite.headers(), "Last-Event-ID": TOO_BIG}
    async with asyncio.timeout(WAIT_S):
        response = await lite.client.get(f"/v1/jobs/{job_id}/events", headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"] == (
        f"Last-Event-ID '{TOO_BIG}' is not an event id of this stream."
    )


@pytest.mark.parametrize("depth", [40, 5_000])  # past the spec limit; past the JSON parser
async def test_a_spec_nested_too_deep_is_refused_naming_the_limit(mem: Api, depth):
    spec = '{"reference": "/r", "distorted": ["/d"], "x": ' + "[" * depth + "]" * depth + "}"
    body = '{"kind": "score", "spec": ' + spec + "}"
    response = await mem.client.post(
        "/v1/jobs", content=body, headers={**mem.headers(), "content-type": "application/json"}
    )
    error = response.json()["error"]
    if depth == 40:
        assert (response.status_code, error["type"]) == (422, "InvalidSpecError")
        assert error["message"] == "score spec nests JSON more than 32 levels deep."
    else:
        assert (response.status_code, error["type"]) == (400, "InvalidRequestError")
        assert error["message"] == "the request body nests JSON more than 32 levels deep."
        assert error["fields"] == [
            {"path": "body", "message": "nests JSON more than 32 levels deep"}
        ]


async def _two_tenants_of_jobs(api: Api) -> None:
    await api.submit()
    await api.submit()
    response = await api.client.post(
        "/v1/jobs", json=api.score_body(), headers=api.headers("globex")
    )
    assert response.status_code == 201, response.text


async def test_metrics_without_a_token_show_totals_but_no_tenant(mem: Api):
    await _two_tenants_of_jobs(mem)
    response = await mem.client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert "tenant=" not in text
    assert "acme" not in text and "globex" not in text
    assert "\nvmafx_controller_jobs_submitted_total 3.0\n" in text
    assert 'vmafx_controller_jobs_pending{queue="score"} 3.0' in text


async def test_metrics_with_a_token_show_the_callers_tenant_only(mem: Api):
    await _two_tenants_of_jobs(mem)
    response = await mem.client.get("/metrics", headers=mem.headers("reader"))
    assert response.status_code == 200
    assert 'vmafx_controller_jobs_submitted_total{tenant="acme"} 2.0' in response.text
    assert "globex" not in response.text


async def test_metrics_with_a_bad_token_are_refused(mem: Api):
    response = await mem.client.get("/metrics", headers={"Authorization": "Bearer vmafx_nope"})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "the token is unknown, expired or revoked."


async def test_metrics_with_a_node_token_are_refused(mem: Api):
    response = await mem.client.get("/metrics", headers=mem.headers("node"))
    assert response.status_code == 403


async def test_metrics_with_auth_off_show_every_series(tmp_path: Path):
    root = tmp_path / "media"
    root.mkdir()
    api = Api(InMemoryJobStore(Scheduler()), root, auth_disabled=True)
    try:
        await api.client.post("/v1/jobs", json=api.score_body())
        text = (await api.client.get("/metrics")).text
    finally:
        await api.close()
    assert 'vmafx_controller_jobs_submitted_total{tenant="dev"} 1.0' in text


async def test_a_repeated_submission_answers_200_and_the_document_says_so(mem: Api):
    body = mem.score_body(idempotency_key="nightly-1")
    first = await mem.client.post("/v1/jobs", json=body, headers=mem.headers())
    again = await mem.client.post("/v1/jobs", json=body, headers=mem.headers())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    responses = (await mem.client.get("/openapi.json")).json()["paths"]["/v1/jobs"]["post"]
    assert {"200", "201"} <= set(responses["responses"])

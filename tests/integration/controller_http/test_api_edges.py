"""The API's edges: numbers past what the store holds, bodies nested past any parser, and what
/metrics shows to whom."""

from __future__ import annotations

import asyncio
import logging

import pytest

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

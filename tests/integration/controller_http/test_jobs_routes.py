"""/v1/jobs over HTTP: submit, batch, get with attempts, list with filters and paging, cancel."""

from __future__ import annotations

import pytest

from vmafx.core.attempts import Attribution
from vmafx.core.messages import NodeReport

from .conftest import L4, Api

pytestmark = pytest.mark.anyio


async def test_submitting_a_job_answers_201_with_the_pending_job_and_its_location(api: Api):
    response = await api.client.post(
        "/v1/jobs", json=api.score_body(priority=5), headers=api.headers()
    )
    assert response.status_code == 201
    job = response.json()
    assert (job["state"], job["kind"], job["queue"], job["priority"]) == (
        "pending",
        "score",
        "score",
        5,
    )
    assert job["tenant"] == "acme"
    assert job["spec"]["distorted"] == [str(api.root / "dis.mp4")]
    assert job["deduplicated"] is False
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"


async def test_the_same_idempotency_key_answers_200_with_the_first_job(api: Api):
    body = api.score_body(idempotency_key="upload-1")
    first = await api.client.post("/v1/jobs", json=body, headers=api.headers())
    again = await api.client.post("/v1/jobs", json=body, headers=api.headers())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["deduplicated"] is True


async def test_a_batch_is_submitted_in_one_call_with_its_batch_id(api: Api):
    jobs = [api.score_body(), api.score_body(spec={"distorted": [str(api.root / "dis2.mp4")]})]
    response = await api.client.post(
        "/v1/jobs/batch", json={"batch_id": "b-1", "jobs": jobs}, headers=api.headers()
    )
    assert response.status_code == 200, response.text
    assert response.json()["batch_id"] == "b-1"
    assert [item["state"] for item in response.json()["jobs"]] == ["pending", "pending"]
    listed = await api.client.get(
        "/v1/jobs", params={"batch_id": "b-1"}, headers=api.headers("reader")
    )
    assert {job["id"] for job in listed.json()["jobs"]} == {
        item["id"] for item in response.json()["jobs"]
    }


async def test_one_invalid_job_in_a_batch_rejects_the_batch_naming_it(api: Api):
    jobs = [api.score_body(), api.score_body(spec={"subsample": 0})]
    response = await api.client.post("/v1/jobs/batch", json={"jobs": jobs}, headers=api.headers())
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("jobs[1]: ")
    listed = await api.client.get("/v1/jobs", headers=api.headers("reader"))
    assert listed.json()["jobs"] == []


async def test_a_job_is_read_back_with_its_attempts_and_where_it_ran(api: Api):
    job_id = await api.submit()
    session = await api.register("zampp2", gpus=(L4,), gpu_vendor="nvidia")
    claim = await api.claim(session)
    report = NodeReport(
        job_id=job_id,
        attempt=claim.job.attempt,
        result={"score": 93.5},
        attribution=Attribution(gpu=L4),
    )
    await api.service.report_result(api.node, session.node_id, session.session_token, report)
    response = await api.client.get(f"/v1/jobs/{job_id}", headers=api.headers("reader"))
    assert response.status_code == 200
    job = response.json()
    assert (job["state"], job["score"], job["where"]) == ("completed", 93.5, "zampp2 / L4")
    [attempt] = job["attempts"]
    assert (attempt["number"], attempt["node_name"], attempt["outcome"]) == (
        1,
        "zampp2",
        "completed",
    )
    assert attempt["gpu"]["name"] == "L4"


async def test_listing_pages_newest_first_with_a_cursor_until_it_is_null(api: Api):
    ids = [await api.submit() for _ in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (
            await api.client.get("/v1/jobs", params=params, headers=api.headers("reader"))
        ).json()
        seen += [job["id"] for job in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]


async def test_listing_filters_by_state_kind_queue_and_node(api: Api):
    running_id = await api.submit()
    session = await api.register()
    await api.claim(session)
    pending_id = await api.submit(queue="gold")
    reader = api.headers("reader")

    async def ids(**params: object) -> list[str]:
        response = await api.client.get("/v1/jobs", params=params, headers=reader)
        assert response.status_code == 200, response.text
        return [job["id"] for job in response.json()["jobs"]]

    assert await ids(state="running") == [running_id]
    assert await ids(state=["pending", "running"]) == [pending_id, running_id]
    assert await ids(queue="gold") == [pending_id]
    assert await ids(node=session.node_id) == [running_id]
    assert await ids(kind="encode") == []


async def test_cancelling_a_pending_job_answers_the_cancelled_job(api: Api):
    job_id = await api.submit()
    response = await api.client.post(
        f"/v1/jobs/{job_id}/cancel", json={"reason": "wrong file"}, headers=api.headers()
    )
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    assert response.json()["error"] == "wrong file"


async def test_cancelling_needs_no_body_and_is_idempotent(mem: Api):
    job_id = await mem.submit()
    first = await mem.client.post(f"/v1/jobs/{job_id}/cancel", headers=mem.headers())
    again = await mem.client.post(f"/v1/jobs/{job_id}/cancel", headers=mem.headers())
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["state"] == "cancelled"


async def test_with_auth_disabled_every_call_is_the_dev_tenant(mem: Api):
    mem.auth.disabled = True
    response = await mem.client.post("/v1/jobs", json=mem.score_body())
    assert response.status_code == 201, response.text
    assert response.json()["tenant"] == "dev"

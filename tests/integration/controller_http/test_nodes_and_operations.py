"""/v1/nodes, the probes, /metrics, the OpenAPI document and the route not offered."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from .conftest import L4, Api

pytestmark = pytest.mark.anyio

#: DESIGN.md §3.7, controller side.
FAMILIES = (
    "vmafx_controller_jobs_submitted_total",
    "vmafx_controller_jobs_completed_total",
    "vmafx_controller_jobs_failed_total",
    "vmafx_controller_jobs_cancelled_total",
    "vmafx_controller_jobs_requeued_total",
    "vmafx_controller_jobs_pending",
    "vmafx_controller_jobs_running",
    "vmafx_controller_queue_oldest_job_age_seconds",
    "vmafx_controller_nodes_live",
    "vmafx_controller_job_queue_wait_seconds",
    "vmafx_controller_claim_seconds",
    "vmafx_controller_job_duration_seconds",
    "vmafx_quality_score",
)
ROUTES = {
    ("post", "/v1/jobs"),
    ("get", "/v1/jobs"),
    ("post", "/v1/jobs/batch"),
    ("get", "/v1/jobs/{job_id}"),
    ("post", "/v1/jobs/{job_id}/cancel"),
    ("get", "/v1/jobs/{job_id}/events"),
    ("get", "/v1/events"),
    ("get", "/v1/nodes"),
    ("post", "/v1/nodes/{node_id}/drain"),
    ("post", "/v1/nodes/{node_id}/resume"),
    ("put", "/v1/nodes/{node_id}/concurrency"),
    ("get", "/v1/stats"),
    ("get", "/v1/models"),
    ("post", "/v1/score"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
}


async def test_nodes_are_listed_with_gpus_and_the_jobs_they_run(api: Api):
    job_id = await api.submit()
    session = await api.register("zampp2", gpus=(L4,), gpu_vendor="nvidia", queues=("score",))
    await api.claim(session)
    response = await api.client.get("/v1/nodes", headers=api.headers("reader"))
    assert response.status_code == 200
    [node] = response.json()["nodes"]
    assert (node["id"], node["name"], node["state"]) == (session.node_id, "zampp2", "live")
    assert node["gpus"][0]["name"] == "L4"
    assert (node["running_job_ids"], node["slots_in_use"]) == ([job_id], {"score": 1})
    other = await api.client.get("/v1/nodes", headers=api.headers("globex"))
    assert other.json()["nodes"] == []


async def test_draining_a_node_needs_admin_and_can_release_its_jobs(api: Api):
    job_id = await api.submit()
    session = await api.register()
    await api.claim(session)
    path = f"/v1/nodes/{session.node_id}/drain"
    refused = await api.client.post(
        path, json={"release_jobs": True}, headers=api.headers("writer")
    )
    assert refused.status_code == 403
    response = await api.client.post(
        path, json={"release_jobs": True}, headers=api.headers("admin")
    )
    assert response.json() == {"ok": True, "released_job_ids": [job_id]}
    listed = await api.client.get("/v1/nodes", headers=api.headers("reader"))
    assert listed.json()["nodes"][0]["state"] == "draining"


async def test_resume_and_concurrency_need_admin_and_are_shown_in_the_listing(api: Api):
    session = await api.register(queues=("score", "encode"))
    base = f"/v1/nodes/{session.node_id}"
    await api.client.post(f"{base}/drain", json={}, headers=api.headers("admin"))
    assert (
        await api.client.post(f"{base}/resume", headers=api.headers("writer"))
    ).status_code == 403
    resumed = await api.client.post(f"{base}/resume", headers=api.headers("admin"))
    assert resumed.json() == {"ok": True, "was_drained": True}
    body = {"concurrency": {"encode": 3}}
    refused = await api.client.put(f"{base}/concurrency", json=body, headers=api.headers("reader"))
    assert refused.status_code == 403
    changed = await api.client.put(f"{base}/concurrency", json=body, headers=api.headers("admin"))
    assert changed.json() == {"concurrency": {"encode": 3}, "slots": 4}  # 3 + score's 1
    [node] = (await api.client.get("/v1/nodes", headers=api.headers("reader"))).json()["nodes"]
    assert (node["state"], node["drain_requested"]) == ("live", False)
    assert (node["concurrency"], node["slots"]) == ({"encode": 3}, 4)
    bad = await api.client.put(
        f"{base}/concurrency", json={"concurrency": {"encode": "3"}}, headers=api.headers("admin")
    )
    assert bad.status_code == 400 and "encode" in bad.text  # a string is not a limit
    unknown = await api.client.post("/v1/nodes/nope/resume", headers=api.headers("admin"))
    assert unknown.status_code == 404


async def test_healthz_and_readyz_answer_without_a_token(api: Api):
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    assert (await api.client.get("/readyz")).json() == {"status": "ready"}


async def test_readyz_is_503_while_the_controller_shuts_down(mem: Api):
    await mem.service.close()
    response = await mem.client.get("/readyz")
    assert response.status_code == 503
    assert "shutting down" in response.json()["error"]["message"]


async def test_metrics_expose_the_design_families_with_live_figures(api: Api):
    await api.submit()
    cancelled = await api.submit()
    await api.client.post(f"/v1/jobs/{cancelled}/cancel", headers=api.headers())
    response = await api.client.get("/metrics", headers=api.headers("reader"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for family in FAMILIES:
        assert f"# TYPE {family} " in text, family
    assert 'vmafx_controller_jobs_submitted_total{tenant="acme"} 2.0' in text
    assert 'vmafx_controller_jobs_cancelled_total{tenant="acme"} 1.0' in text
    assert 'vmafx_controller_jobs_pending{queue="score"} 1.0' in text


async def test_every_claim_handed_out_is_timed_in_the_claim_histogram(api: Api):
    """Issue 15: the claim's own time in the controller, for a claim p99 an operator can
    watch (a pull that waited for work is timed from its wake-up, not from its arrival)."""
    for _ in range(3):
        await api.submit()
    session = await api.register("zampp2", queues=("score",))
    for _ in range(3):
        await api.claim(session)
    response = await api.client.get("/metrics", headers=api.headers("reader"))
    lines = response.text.splitlines()
    assert 'vmafx_controller_claim_seconds_count{tenant="acme"} 3.0' in lines
    [total] = [line for line in lines if line.startswith("vmafx_controller_claim_seconds_sum{")]
    assert 0.0 < float(total.split()[1]) < 30.0
    [inf] = [line for line in lines if 'vmafx_controller_claim_seconds_bucket{' in line
             and 'le="+Inf"' in line]  # fmt: skip
    assert inf.endswith(" 3.0")


async def test_the_openapi_document_is_valid_and_lists_every_route(mem: Api):
    response = await mem.client.get("/openapi.json")
    document = response.json()
    validate(document)
    present = {(method, path) for path, item in document["paths"].items() for method in item}
    assert present >= ROUTES
    submit = document["paths"]["/v1/jobs"]["post"]
    assert submit["security"] == [{"HTTPBearer": []}]
    assert "ErrorOut" in submit["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    assert document["components"]["schemas"]["JobIn"]["examples"]


async def test_no_docs_page_is_served_since_it_would_need_a_cdn(mem: Api):
    assert (await mem.client.get("/docs")).status_code == 404
    assert (await mem.client.get("/redoc")).status_code == 404


async def test_the_original_score_call_answers_501_saying_what_to_use(mem: Api):
    score = await mem.client.post("/v1/score", json={}, headers=mem.headers())
    assert score.status_code == 501
    assert "POST /v1/jobs" in score.json()["error"]["hint"]

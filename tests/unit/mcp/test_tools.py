"""Each MCP tool through the SDK's in-memory client, against an in-memory controller."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.unit.mcp.conftest import Rig

from vmafx.core.jobs import JobKind, Requirements
from vmafx.core.messages import JobRequest, NodeReport

FARM_TOOLS = {
    "submit_job", "get_job", "wait_job", "cancel_job", "list_jobs", "list_nodes",
    "explain_pending", "corpus_status",
}  # fmt: skip
LOCAL_TOOLS = {"score", "list_models", "list_features", "versions", "tune_crf", "tune_ladder"}


def clip_pair(tmp_path: Path) -> tuple[str, str]:
    ref, dis = tmp_path / "ref.mp4", tmp_path / "dis.mp4"
    ref.write_bytes(b"r")
    dis.write_bytes(b"d")
    return str(ref), str(dis)


async def submit_score(rig: Rig, tmp_path: Path) -> str:
    ref, dis = clip_pair(tmp_path)
    job = await rig.call("submit_job", kind="score", spec={"reference": ref, "distorted": [dis]})
    return str(job["id"])


async def test_with_a_farm_every_tool_is_listed_with_a_description_and_schemas(rig: Rig) -> None:
    tools = {tool.name: tool for tool in (await rig.mcp.list_tools()).tools}
    assert set(tools) == FARM_TOOLS | LOCAL_TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 40, tool.name
        assert tool.output_schema is not None, tool.name
    score = tools["score"].input_schema
    assert score["required"] == ["reference", "distorted"]
    assert score["properties"]["distorted"]["type"] == "array"


async def test_without_a_farm_only_the_local_tools_are_listed(local_rig: Rig) -> None:
    tools = {tool.name for tool in (await local_rig.mcp.list_tools()).tools}
    assert tools == LOCAL_TOOLS


async def test_local_score_gives_the_report_of_vmafx_score_json_with_progress(
    local_rig: Rig,
) -> None:
    seen: list[tuple[float, float | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total))

    result = await local_rig.mcp.call_tool(
        "score",
        {"reference": "ref.y4m", "distorted": ["a.mp4", "b.mp4"], "features": ["ssim", "cambi"]},
        progress_callback=progress,
    )
    assert not result.is_error, result.content
    body = result.structured_content
    assert body is not None
    assert body["ran_on"] == "local"
    assert [r["distorted"] for r in body["results"]] == ["a.mp4", "b.mp4"]
    assert body["results"][1]["pooled"]["vmaf_v0.6.1"]["mean"] == pytest.approx(91.0)
    assert body["vmaf"] == pytest.approx(90.0)
    assert body["versions"]["libvmaf"] == "3.0.0"
    assert seen == [(1, 3), (2, 3), (3, 3)]
    request = local_rig.scorer.requests[0]
    assert request.options.features == ("ffmpeg:ssim", "cambi")  # as `vmafx score -f ssim`
    assert request.options.models == ("vmaf_v0.6.1",)


async def test_a_farm_score_of_a_missing_file_is_a_tool_error_naming_the_fix(
    rig: Rig, tmp_path: Path
) -> None:
    ref, _ = clip_pair(tmp_path)
    text = await rig.error("score", reference=ref, distorted=[str(tmp_path / "nope.mp4")])
    assert f"distorted[0] {tmp_path / 'nope.mp4'} does not exist." in text
    assert "call again with check_inputs=false" in text


async def test_a_farm_score_of_an_unknown_feature_lists_the_ones_it_takes(
    rig: Rig, tmp_path: Path
) -> None:
    ref, dis = clip_pair(tmp_path)
    text = await rig.error("score", reference=ref, distorted=[dis], features=["vif_typo"])
    assert "cannot compute the feature 'vif_typo'" in text
    assert "float_ssim" in text


async def test_a_farm_score_still_running_returns_its_job_id_for_wait_job(
    rig: Rig, tmp_path: Path
) -> None:
    ref, dis = clip_pair(tmp_path)
    body = await rig.call("score", reference=ref, distorted=[dis], wait_s=0)
    assert body["ran_on"] == "farm"
    assert body["state"] == "pending"
    assert body["results"] == []
    assert f"call wait_job with job_id {body['job_id']}" in body["note"]


async def test_wait_job_sends_progress_and_returns_the_job_with_host_and_gpu(
    rig: Rig, tmp_path: Path
) -> None:
    job_id = await submit_score(rig, tmp_path)
    node = rig.node()
    claim = await node.claim()
    await node.progress(claim, 0.5)
    messages: list[tuple[float, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        messages.append((done, message))
        if len(messages) == 1:  # the node finishes once the first notification is out
            await node.complete(claim, vmaf=93.5)

    result = await rig.mcp.call_tool(
        "wait_job", {"job_id": job_id, "timeout_s": 30}, progress_callback=progress
    )
    body = result.structured_content
    assert body is not None, result.content
    assert body["state"] == "completed"
    assert body["score"] == pytest.approx(93.5)
    assert body["where"] == "zampp2 / L4"
    assert body["attempts"][0]["gpu"] == "L4"
    assert messages[0] == (50.0, "running on zampp2 / L4")
    assert messages[-1] == (100.0, "completed on zampp2 / L4")


async def test_a_farm_score_waits_for_the_job_and_gives_its_pooled_metrics(
    rig: Rig, tmp_path: Path
) -> None:
    ref, dis = clip_pair(tmp_path)
    node = rig.node()
    await node.register()
    done: list[str] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        if not done:  # the job is submitted: a node takes and finishes it
            claim = await node.claim()
            await node.complete(claim, vmaf=88.25)
            done.append(claim.job.id)

    result = await rig.mcp.call_tool(
        "score", {"reference": ref, "distorted": [dis], "wait_s": 30}, progress_callback=progress
    )
    body = result.structured_content
    assert body is not None, result.content
    assert body["state"] == "completed"
    assert body["job_id"] == done[0]
    assert body["vmaf"] == pytest.approx(88.25)
    assert body["results"][0]["pooled"]["vmaf_v0.6.1"]["mean"] == pytest.approx(88.25)
    assert "series" not in body["results"][0]
    assert body["where"] == "zampp2 / L4"


async def test_get_job_gives_state_spec_and_the_pending_reason(rig: Rig, tmp_path: Path) -> None:
    job_id = await submit_score(rig, tmp_path)
    body = await rig.call("get_job", job_id=job_id[:8])
    assert body["id"] == job_id
    assert body["state"] == "pending"
    assert body["spec"]["distorted"] == [str(tmp_path / "dis.mp4")]
    assert body["pending_reason"]
    assert body["attempts"] == []


async def test_an_unknown_job_is_a_tool_error_naming_list_jobs(rig: Rig) -> None:
    text = await rig.error("get_job", job_id="0badc0de")
    assert text.endswith("no job id starts with '0badc0de'. List jobs with list_jobs.")


async def test_cancel_job_cancels_a_pending_job(rig: Rig, tmp_path: Path) -> None:
    job_id = await submit_score(rig, tmp_path)
    body = await rig.call("cancel_job", job_id=job_id, reason="wrong clip")
    assert body["job"]["state"] == "cancelled"
    assert body["message"]


async def test_list_jobs_filters_by_state(rig: Rig, tmp_path: Path) -> None:
    first = await submit_score(rig, tmp_path)
    second = await submit_score(rig, tmp_path)
    await rig.call("cancel_job", job_id=first)
    pending = await rig.call("list_jobs", states=["pending"])
    assert [job["id"] for job in pending["jobs"]] == [second]
    everything = await rig.call("list_jobs")
    assert {job["id"] for job in everything["jobs"]} == {first, second}


async def test_list_jobs_searches_by_id_prefix_and_file_name(rig: Rig, tmp_path: Path) -> None:
    first = await submit_score(rig, tmp_path)
    second = await submit_score(rig, tmp_path)
    found = await rig.call("list_jobs", search=f"id:{second[:8]}")
    assert [job["id"] for job in found["jobs"]] == [second]
    by_file = await rig.call("list_jobs", search="file:dis.mp4")
    assert {job["id"] for job in by_file["jobs"]} == {first, second}
    none = await rig.call("list_jobs", search="file:no-such-clip")
    assert none["jobs"] == []


async def test_list_nodes_shows_host_gpus_and_slots(rig: Rig) -> None:
    await rig.node().register()
    body = await rig.call("list_nodes")
    [node] = body["nodes"]
    assert node["name"] == "node-a"
    assert node["host"] == "zampp2"
    assert node["gpus"] == ["L4 (23034 MB)"]
    assert node["slots"] == 1


async def test_explain_pending_names_the_node_that_could_run_it_and_why_others_cannot(
    rig: Rig, tmp_path: Path
) -> None:
    await rig.node("encoder-only", host="e1", queues=("encode",)).register()
    await rig.node("light", host="l1", labels={"tier": "light"}).register()
    await rig.node("heavy", host="h1", labels={"tier": "heavy"}).register()
    ref, dis = clip_pair(tmp_path)
    job = await rig.call(
        "submit_job", kind="score", spec={"reference": ref, "distorted": [dis]},
        labels={"tier": "heavy"},
    )  # fmt: skip
    body = await rig.call("explain_pending", job_id=job["id"])
    assert body["runnable_on"] == ["heavy"]
    reasons = {node["name"]: node["reasons"] for node in body["nodes"]}
    assert reasons["encoder-only"][0] == "not subscribed to queue score (subscribed: encode)"
    assert reasons["light"] == ["needs label tier=heavy (node has tier=light)"]
    assert "heavy could take it now" in body["summary"]


async def test_explain_pending_says_when_no_node_can_run_it(rig: Rig, tmp_path: Path) -> None:
    await rig.node("cpu", host="c1").register()
    ref, dis = clip_pair(tmp_path)
    await rig.controller.submit_job(
        JobRequest.parse(
            kind=JobKind.SCORE,
            spec={"reference": ref, "distorted": [dis]},
            requirements=Requirements(gpu_vendor="nvidia"),
        )
    )
    [job] = (await rig.call("list_jobs"))["jobs"]
    body = await rig.call("explain_pending", job_id=job["id"])
    assert body["runnable_on"] == []
    assert body["nodes"][0]["reasons"] == ["needs a nvidia GPU (node has cpu)"]
    assert "No live node can run it" in body["summary"]


async def test_corpus_status_counts_a_batchs_jobs_by_state(rig: Rig, tmp_path: Path) -> None:
    ref, dis = clip_pair(tmp_path)
    spec: dict[str, Any] = {"reference": ref, "distorted": [dis]}
    for _ in range(3):
        await rig.call("submit_job", kind="score", spec=spec, batch_id="corpus-1")
    node = rig.node()
    await node.complete(await node.claim(), vmaf=80.0)
    await rig.call("submit_job", kind="score", spec=spec, batch_id="other")
    body = await rig.call("corpus_status", batch_id="corpus-1")
    assert body["total"] == 3
    assert body["counts"]["completed"] == 1
    assert body["counts"]["pending"] == 2
    assert body["finished_fraction"] == pytest.approx(1 / 3, abs=1e-3)
    assert body["mean_vmaf"] == pytest.approx(80.0)


async def test_corpus_status_of_an_unknown_batch_is_a_tool_error(rig: Rig) -> None:
    text = await rig.error("corpus_status", batch_id="nope")
    assert "no job has batch id 'nope'." in text


async def test_resources_give_a_finished_jobs_result_and_series(rig: Rig, tmp_path: Path) -> None:
    job_id = await submit_score(rig, tmp_path)
    node = rig.node()
    await node.complete(await node.claim(), vmaf=91.0)
    result = await rig.mcp.read_resource(f"vmafx://jobs/{job_id}/result")
    body = json.loads(result.contents[0].text)  # type: ignore[union-attr]
    assert body["results"][0]["pooled"]["vmaf_v0.6.1"]["mean"] == pytest.approx(91.0)
    frames = await rig.mcp.read_resource(f"vmafx://jobs/{job_id}/frames")
    series = json.loads(frames.contents[0].text)  # type: ignore[union-attr]
    assert series["inputs"][0]["series"]["vmaf_v0.6.1"] == [91.0, 91.0, 91.0]


async def test_list_models_and_features_name_what_score_takes(local_rig: Rig) -> None:
    models = await local_rig.call("list_models")
    assert "vmaf_v0.6.1" in [m["name"] for m in models["models"]]
    features = await local_rig.call("list_features")
    assert "float_ssim" in features["local_features"]


async def test_a_job_that_ends_failed_makes_score_a_tool_error(rig: Rig, tmp_path: Path) -> None:
    ref, dis = clip_pair(tmp_path)
    node = rig.node()
    await node.register()

    async def progress(value: float, total: float | None, message: str | None) -> None:
        claim = await node.claim()
        assert node.session is not None
        report = NodeReport(job_id=claim.job.id, attempt=claim.job.attempt, error="input vanished")
        await rig.controller.report_result(node.session, report)

    result = await rig.mcp.call_tool(
        "score", {"reference": ref, "distorted": [dis], "wait_s": 30}, progress_callback=progress
    )
    assert result.is_error
    assert "failed: input vanished" in result.content[0].text  # type: ignore[union-attr]


async def test_an_assistant_can_submit_a_health_check(rig: Rig, tmp_path: Path) -> None:
    """Issue 18 item 5: the `health` kind through `submit_job` (decode every frame)."""
    source = tmp_path / "master.mov"
    source.write_bytes(b"m")
    job = await rig.call("submit_job", kind="health", spec={"source": str(source)})
    assert job["kind"] == "health" and job["state"] == "pending"
    assert job["spec"] == {"source": str(source), "max_errors": 100}

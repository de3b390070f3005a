"""The Tune view of a tune job's page, in headless Chromium against a real controller whose tuner
runs the search: probes listed live with the node they run on, then the measured curve (one dot
per probe, the fit, the target line) and, for a ladder, the hull plot with a rung table."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser.conftest import submit
from tests.farm import L4, FakeNode

from vmafx.core.attempts import Attribution
from vmafx.core.jobs import JobKind
from vmafx.core.messages import Claim, NodeReport

pytestmark = pytest.mark.browser


def vmaf_at(crf: float, height: int = 360) -> float:
    return 99.0 - 0.02 * (crf - 10) ** 2 - 0.5 * (crf - 10) - (6.0 if height < 360 else 0.0)


@pytest.fixture(scope="module")
def prober(farm) -> Any:
    made = farm.node("tuner-l4", host="zampp3", encoders=("libx264",))
    yield made
    farm.run(made.close())


async def take(node: FakeNode) -> Claim | None:
    return await node.client.pull_work(node.session, queues=["encode"], wait_s=2)


async def finish(node: FakeNode, claim: Claim) -> None:
    """Report a probe encode job as a node would: its output, bitrate and VMAF."""
    spec = claim.job.spec
    crf = spec["rate_control"]["value"]
    size = spec.get("resolution") or {"width": 640, "height": 360}
    kbps = 40_000 / crf * size["width"] * size["height"] / (640 * 360)
    result = {"output": spec["output"], "bytes": int(kbps * 125), "bitrate_kbps": kbps,
              "encoder": "libx264", "frames": 24,
              "score_after": {"vmaf": vmaf_at(crf, size["height"]), "frame_count": 24}}  # fmt: skip
    report = NodeReport(job_id=claim.job.id, attempt=claim.job.attempt, result=result,
                        attribution=Attribution(gpu=L4))  # fmt: skip
    await node.client.report_result(node.session, report)


async def answer_one(node: FakeNode) -> None:
    claim = await take(node)
    if claim is not None:
        await finish(node, claim)


def drive(farm, node: FakeNode, job_id: str, limit: int = 60) -> dict[str, Any]:
    service = farm.running.service
    for _ in range(limit):
        job = farm.run(service.store.get_job(job_id))
        if job.is_terminal:
            assert job.result is not None, job.error
            return job.result
        farm.run(answer_one(node))
    raise AssertionError("the tune job never ended")


def test_the_tune_view_lists_probes_live_then_draws_the_curve_and_the_target(farm, prober, tab):
    spec = {"source": farm.path("master.mov"), "codec": "h264", "encoder": "libx264",
            "target_vmaf": 90, "output": farm.path("out/tuned.mkv")}  # fmt: skip
    job = submit(farm, JobKind.TUNE, spec)
    held = farm.run(take(prober))  # the first probe, left running on zampp3
    assert held is not None
    tab.open(f"{farm.http_url}/ui/#/jobs/{job.id}")
    tab.wait_text("#tune table.tune-probes", "running")
    assert "tuner-l4" in tab.text_of("#tune table.tune-probes")  # its lease: the node's name

    farm.run(finish(prober, held))
    result = drive(farm, prober, job.id)

    tab.wait_text("#tune .facts", f"crf {result['crf']:g} → VMAF")
    dots = tab.js(
        "return [...document.querySelectorAll('#tune circle.probe')]"
        ".map(n => [Number(n.dataset.crf), Number(n.dataset.vmaf)]);"
    )
    assert sorted(dots) == sorted([p["crf"], p["vmaf"]] for p in result["probes"])
    target = tab.js("return document.querySelector('#tune line.target').dataset.vmaf;")
    assert float(target) == 90
    fit = tab.js("return Number(document.querySelector('#tune polyline.fit').dataset.points);")
    assert fit == len(result["curve"]) >= 2
    chosen = tab.js("return Number(document.querySelector('#tune circle.chosen').dataset.crf);")
    assert chosen == result["crf"]
    rows = tab.text_of("#tune table.tune-probes tbody")
    assert rows.count("tuner-l4 · zampp3 / L4") == len(result["probes"])
    tab.screenshot("tune")


def test_a_ladder_tune_draws_the_hull_and_lists_its_rungs(farm, prober, tab):
    spec = {"source": farm.path("master.mov"), "codec": "h264", "encoder": "libx264",
            "mode": "ladder", "resolutions": ["360", "180"], "points": 3, "rungs": 3,
            "output": farm.path("out/ladder"), "source_width": 640, "source_height": 360,
            "source_frames": 24, "source_fps": 24.0}  # fmt: skip
    job = submit(farm, JobKind.TUNE, spec)
    result = drive(farm, prober, job.id)
    tab.open(f"{farm.http_url}/ui/#/jobs/{job.id}")
    tab.wait_text("#tune h3", "Rungs")
    assert len(tab.all("#tune circle.point")) == len(result["points"]) == 6
    hull = tab.js("return Number(document.querySelector('#tune polyline.hull').dataset.points);")
    assert hull == len(result["hull"])
    assert len(tab.all("#tune rect.rung")) == len(result["rungs"])
    rungs = tab.js(
        "return [...document.querySelectorAll('#tune table.tune-rungs tbody tr')]"
        ".map(r => r.cells[0].textContent + ' ' + r.cells[1].textContent);"
    )
    assert rungs == [f"{r['width']}×{r['height']} {r['crf']:g}" for r in result["rungs"]]
    tab.screenshot("tune-ladder")

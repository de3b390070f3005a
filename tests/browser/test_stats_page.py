"""The Stats page against a controller of its own (its figures count every job of the tenant):
totals, the throughput chart, failures by reason, bytes saved, VMAF bins and busy time, as the
store aggregated them for `/v1/stats`."""

from __future__ import annotations

import json
import urllib.request

import pytest
from tests.browser.conftest import submit
from tests.farm import L4, Farm, migrated_template

from vmafx.core.attempts import Attribution
from vmafx.core.jobs import JobKind
from vmafx.core.messages import NodeReport

pytestmark = pytest.mark.browser

ENCODES = (
    (10_000_000, 4_000_000, 95.2),
    (8_000_000, 2_000_000, 91.0),
    (6_000_000, 3_000_000, 96.9),
)


def _encode(farm: Farm, queue: str) -> None:
    spec = {"source": farm.path("master.mov"), "output": farm.path("out.mp4"), "codec": "hevc"}
    submit(farm, JobKind.ENCODE, spec, queue=queue)


@pytest.fixture
def stats_farm(tmp_path):
    farm = Farm(tmp_path / "farm", migrated_template(tmp_path))
    node = farm.node("stats-node")
    try:
        for source, output, vmaf in ENCODES:
            _encode(farm, "st")
            claim = farm.run(node.claim("st"))
            result = {"output": farm.path("out.mp4"), "codec": "hevc", "bytes": output,
                      "source_bytes": source, "score_after": {"vmaf": vmaf}}  # fmt: skip
            report = NodeReport(
                job_id=claim.job.id, attempt=claim.job.attempt, result=result,
                attribution=Attribution(gpu=L4),
            )  # fmt: skip
            assert farm.run(node.client.report_result(node.session, report)) == ""
        for error in (
            "ffmpeg exited 1: moov atom not found\n(details)",
            "ffmpeg exited 1: moov atom not found",
        ):
            _encode(farm, "st")
            farm.run(node.fail(farm.run(node.claim("st")), error))
        _encode(farm, "later")  # waits: the node takes only "st" here
        yield farm
    finally:
        farm.run(node.close())
        farm.close()


def test_the_api_gives_the_figures_as_json(stats_farm):
    with urllib.request.urlopen(f"{stats_farm.http_url}/v1/stats?hours=24") as answer:
        stats = json.load(answer)
    assert stats["totals"] == {
        "completed": 3, "failed": 2, "saved_bytes": 15_000_000, "scored_encodes": 3,
    }  # fmt: skip
    assert stats["failures"] == [{"reason": "ffmpeg exited 1: moov atom not found", "count": 2}]
    assert [(q["queue"], q["state"], q["count"]) for q in stats["queues"]] == [
        ("later", "pending", 1)
    ]
    assert {row["node"] for row in stats["throughput"]} == {"stats-node"}
    assert [b["count"] for b in stats["vmaf"]["bins"]][18:] == [1, 2]


def test_the_api_refuses_a_bad_window_with_the_fix(stats_farm):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{stats_farm.http_url}/v1/stats?hours=24&bucket=week")
    body = json.load(refused.value)
    assert refused.value.code == 400
    assert "bucket 'week' is not one of 15m, hour, day" in body["error"]["message"]


def test_the_stats_page_draws_the_store_figures(stats_farm, tab):
    tab.open(f"{stats_farm.http_url}/ui/#/stats")
    tab.wait_text("#total-completed", "3")
    assert tab.text_of("#total-failed") == "2"
    assert tab.text_of("#total-saved") == "15.0 MB"
    columns = tab.all("#throughput svg g.column")
    assert len(columns) >= 24  # one per hour of the day (25 when the window straddles hours)
    totals = [int(c.get_attribute("data-total")) for c in columns]
    assert sum(totals) == 5 and max(totals) == 5  # everything ended within the last minute
    failed = tab.all('#throughput rect[data-key="failed"]')
    assert [r.get_attribute("data-value") for r in failed] == ["2"]
    reasons = tab.all("#failures li")
    assert [(r.get_attribute("data-label"), r.get_attribute("data-value")) for r in reasons] == [
        ("ffmpeg exited 1: moov atom not found", "2")
    ]
    assert tab.find("#savings .saved-total").get_attribute("data-bytes") == "15000000"
    bins = {c.get_attribute("data-label"): c.get_attribute("data-total")
            for c in tab.all("#vmaf svg g.column")}  # fmt: skip
    assert (bins["90–95"], bins["95–100"]) == ("1", "2")
    assert "stats-node · L4" in tab.text_of("#busy")
    assert "later" in tab.text_of("#queues") and "pending" in tab.text_of("#queues")
    assert "stats-node" in tab.text_of("#per-node")
    tab.screenshot("stats")
    tab.find("#throughput button.by-node").click()
    tab.until(lambda: tab.all('#throughput rect[data-key="stats-node"]'))
    by_node = tab.all('#throughput rect[data-key="stats-node"]')
    assert [r.get_attribute("data-value") for r in by_node] == ["5"]  # failures included
    assert not tab.all('#throughput rect[data-key="failed"]')
    tab.find('a.chip[href="#/stats?hours=168"]').click()
    tab.until(lambda: len(tab.all("#throughput svg g.column")) in (7, 8))
    assert tab.find('a.chip.on[href="#/stats?hours=168"]')

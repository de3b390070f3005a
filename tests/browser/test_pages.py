"""The Nodes and Models pages (empty and with versions), every page at phone size, and a controller that wants a token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.browser.conftest import PHONE, score_job
from tests.farm import QUARANTINE_REASON, Farm, migrated_template, publish_models

from vmafx.core.tokens import Role

pytestmark = pytest.mark.browser


def test_the_nodes_page_lists_the_node_with_its_gpu_and_encoders(farm, node, tab):
    tab.open(f"{farm.http_url}/ui/#/nodes")
    card = tab.wait_text(f'article.node[data-id="{node.session.node_id}"]', "zampp2-l4")
    assert "live" in card and "zampp2" in card
    assert "L4 nvidia · 22 GB" in card
    assert "h264_nvenc" in card and "libx264" in card
    assert "all queues" in card
    assert "ago" in tab.text_of(".heartbeat")
    tab.screenshot("nodes")


def test_the_models_page_says_so_before_any_trainer_published(tmp_path, tab):
    farm = Farm(tmp_path / "farm", migrated_template(tmp_path))
    try:
        tab.open(f"{farm.http_url}/ui/#/models")
        note = tab.wait_text("main .panel p.empty", "No trainer has published")
        assert str(farm.models) in note
        assert not tab.all("table.models")
        tab.screenshot("models-empty")
    finally:
        farm.close()


def test_the_models_page_lists_the_versions_with_figures_and_why_one_was_quarantined(farm, tab):
    publish_models(farm.models)
    tab.open(f"{farm.http_url}/ui/#/models")
    tab.find("table.models tr.model")
    versions = [row.get_attribute("data-version") for row in tab.all("table.models tr.model")]
    assert versions == ["4", "3", "2", "1"]
    served = tab.text_of('tr.model[data-version="2"]')
    assert "active" in served and "served" in served
    assert "0.9600" in served and "0.9500" in served and "0.400" in served and "3200" in served
    assert "served" not in tab.text_of('tr.model[data-version="1"]')
    assert "quarantined" in tab.text_of('tr.model[data-version="3"] .badge')
    reason = tab.text_of('tr.model[data-version="3"] + tr.note')
    assert reason == QUARANTINE_REASON
    assert "serve v2" in tab.text_of("main .panel p.muted")
    tab.screenshot("models")


def _fits(tab) -> bool:
    return bool(tab.js("return document.documentElement.scrollWidth <= window.innerWidth + 1;"))


def test_every_page_fits_a_phone_screen(farm, node, tab):
    job = score_job(farm, "ui-phone", "dis.mp4", "crf28.mp4")
    claim = farm.run(node.claim("ui-phone"))
    farm.run(node.complete(claim))
    tab.size(*PHONE, mobile=True)
    pages = {
        "jobs-phone": ("#/jobs", f'tbody.job[data-id="{job.id}"]'),
        "job-phone": (f"#/jobs/{job.id}", "svg.chart polyline.series"),
        "nodes-phone": ("#/nodes", "article.node"),
        "stats-phone": ("#/stats", "#throughput svg g.column"),
    }
    for name, (route, ready) in pages.items():
        tab.open(f"{farm.http_url}/ui/{route}")
        tab.find(ready)
        widest = tab.js(
            "let w = null; for (const n of document.querySelectorAll('body *')) {"
            " const r = n.getBoundingClientRect(); if (r.right > window.innerWidth - 1 &&"
            " (!w || r.right > w[1])) w = [n.tagName + '.' + n.className, r.right]; } return w;"
        )
        assert tab.js("return window.innerWidth;") == PHONE[0], f"{name}: {widest}"
        assert _fits(tab), f"{name} scrolls sideways on a phone"
        tab.screenshot(name)
        if name == "job-phone":
            chart = "return document.querySelector('svg.chart').getBoundingClientRect().width;"
            assert 250 <= tab.js(chart) <= PHONE[0]


@pytest.fixture
def locked_farm(tmp_path) -> Iterator[Farm]:
    made = Farm(tmp_path / "farm", migrated_template(tmp_path), auth_disabled=False)
    try:
        yield made
    finally:
        made.close()


def test_with_auth_on_the_ui_asks_for_a_token_once_and_then_streams(locked_farm, tab):
    reader = locked_farm.token(Role.READER)
    tab.open(f"{locked_farm.http_url}/ui/#/jobs")
    assert "No credentials" in tab.wait_text(".token-panel", "asks for a token")
    tab.find("#token-input").send_keys("vmafx_wrong")
    tab.find(".token-panel button.primary").click()
    tab.wait_text(".token-panel .error-text", "unknown, expired or revoked")
    field = tab.find("#token-input")
    field.send_keys(reader)
    tab.find(".token-panel button.primary").click()
    tab.find("table.jobs")
    writer = locked_farm.token(Role.WRITER)
    job = locked_farm.run(_submit_as(locked_farm, writer))
    tab.find(f'tbody.job[data-id="{job}"]')  # live, through fetch() with the token
    assert tab.js("return sessionStorage.getItem('vmafx.token');") == reader
    tab.open(f"{locked_farm.http_url}/ui/#/nodes")  # the tab keeps the token
    tab.find("p.empty")
    assert not tab.all(".token-panel")
    tab.js("sessionStorage.clear();")


async def _submit_as(farm: Farm, token: str) -> str:
    from vmafx.client.grpc_client import GrpcControllerClient
    from vmafx.core.jobs import JobKind
    from vmafx.core.messages import JobRequest

    client = GrpcControllerClient(farm.grpc_target, token=token)
    try:
        spec = {"reference": farm.path("ref.mp4"), "distorted": [farm.path("dis.mp4")]}
        return (await client.submit_job(JobRequest.parse(kind=JobKind.SCORE, spec=spec))).job.id
    finally:
        await client.close()


def test_a_controller_that_went_away_is_said_plainly(tmp_path, tab):
    farm = Farm(tmp_path / "farm", migrated_template(tmp_path))
    try:
        tab.open(f"{farm.http_url}/ui/#/jobs")
        tab.find('.live[data-status="live"]')
    finally:
        farm.close()
    banner = tab.wait_text("p.banner", "did not answer")
    assert "vmafx controller" in banner
    tab.find("details.submit summary").click()
    tab.find('input[name="reference"]').send_keys("/media/ref.mp4")
    tab.find('textarea[name="distorted"]').send_keys("/media/dis.mp4")
    tab.find('form.submit-form button[type="submit"]').click()
    assert "did not answer" in tab.wait_text(".outcome .problem", "did not answer")
    tab.screenshot("controller-down")

"""The Job page: the per-frame chart, pooled metrics and attempts of a score, the error with
ffmpeg's last lines, live progress, and cancelling."""

from __future__ import annotations

import pytest
from tests.browser.conftest import encode_job, score_job
from tests.farm import score_result

from vmafx.controller.auth import DEV_PRINCIPAL
from vmafx.core.jobs import JobState

pytestmark = pytest.mark.browser
FRAMES = 48


def texts(tab, css: str) -> list[str]:
    return list(
        tab.js("return [...document.querySelectorAll(arguments[0])].map(n => n.textContent);", css)
    )


def test_a_scored_job_draws_its_per_frame_chart_and_pooled_metrics(farm, node, tab):
    job = score_job(farm, "ui-chart", "dis.mp4", "crf28.mp4")
    claim = farm.run(node.claim("ui-chart"))
    farm.run(node.complete(claim, frames=FRAMES))
    tab.open(f"{farm.http_url}/ui/#/jobs/{job.id}")
    tab.until(lambda: len(tab.all("svg.chart polyline.series")) == 2, "two series drawn")
    lines = tab.js(
        "return [...document.querySelectorAll('svg.chart polyline.series')]"
        ".map(n => [n.dataset.points, n.getAttribute('points').split(' ').length]);"
    )
    assert lines == [[str(FRAMES), FRAMES]] * 2
    assert texts(tab, ".legend li") == ["dis.mp4", "crf28.mp4"]
    assert texts(tab, "table.numbers tbody tr td:first-child") == ["dis.mp4", "crf28.mp4"]
    attempts = tab.text_of("table.attempts tbody")
    assert "zampp2-l4" in attempts and "zampp2 / L4" in attempts and "completed" in attempts
    mean = score_result("", ["dis.mp4"], FRAMES)["results"][0]["pooled"]["vmaf"]["mean"]
    assert f"Score{mean:.4f}" in tab.text_of(".facts")
    tab.screenshot("job")


def test_a_failed_job_shows_the_ffmpeg_error_in_full(farm, node, tab):
    job = score_job(farm, "ui-failed")
    claim = farm.run(node.claim("ui-failed"))
    error = (
        "ffmpeg failed (exit 1) scoring dis.mp4\nffmpeg said (last lines):\n"
        "[h264 @ 0x55d1] error while decoding MB 12 4, bytestream -7\n"
        "[vist#0:0/h264 @ 0x55d2] Decoding error: Invalid data found when processing input"
    )
    farm.run(node.fail(claim, error))
    tab.open(f"{farm.http_url}/ui/#/jobs/{job.id}")
    shown = tab.wait_text("pre.stderr", "ffmpeg said (last lines)")
    assert shown == error
    assert tab.text_of("#job-state") == "failed"
    assert "failed" in tab.text_of("table.attempts")
    tab.screenshot("job-failed")


def test_the_job_page_follows_progress_live(farm, node, tab):
    job = score_job(farm, "ui-detail-live")
    tab.open(f"{farm.http_url}/ui/#/jobs/{job.id}")
    tab.wait_text("#job-state", "pending")
    claim = farm.run(node.claim("ui-detail-live"))
    tab.wait_text("#job-state", "running")
    farm.run(node.progress(claim, 0.6))
    label = tab.wait_text(".progress.wide .pct", "60 %")
    assert "48 fps" in label and "ETA 0:12" in label
    assert "zampp2 / L4" in tab.text_of(".facts")
    farm.run(node.complete(claim))
    tab.wait_text("#job-state", "completed")
    tab.find("svg.chart polyline.series")


def test_a_running_encode_shows_its_phase_speed_eta_and_encoder(farm, node, tab):
    """Issue 18 item 7: "encoding 42 % 87 fps ETA 0:12", then "scoring …"; the running
    attempt names its encoder before it ends (libaom showed "—" for its whole life)."""
    job = encode_job(farm, "ui-phases")
    claim = farm.run(node.claim("ui-phases"))
    tab.open(f"{farm.http_url}/ui/#/jobs/{job.id}")
    tab.wait_text("#job-state", "running")
    farm.run(node.beat(claim, progress=0.42, frames=420, fps=87.0, eta_s=12.0,
                       phase="encoding", encoder="libaom-av1"))  # fmt: skip
    label = tab.wait_text(".progress.wide .pct", "encoding 42 % 87 fps ETA 0:12 (libaom-av1)")
    assert label == "encoding 42 % 87 fps ETA 0:12 (libaom-av1)"
    tab.wait_text("table.attempts tbody", "libaom-av1")
    tab.screenshot("job-encoding")
    farm.run(node.beat(claim, progress=0.85, frames=6, fps=3.0, phase="scoring"))
    tab.wait_text(".progress.wide .pct", "scoring 85 % 3.0 fps")
    tab.open(f"{farm.http_url}/ui/#/jobs?queue=ui-phases")
    tab.wait_text("tbody.job .pct", "scoring 85 %")
    farm.run(node.fail(claim, "stopped by the test"))


def test_cancel_from_the_job_page_cancels_the_job(farm, tab):
    job = score_job(farm, "ui-cancel")  # no node takes this queue: it waits
    tab.open(f"{farm.http_url}/ui/#/jobs/{job.id}")
    tab.find(".cancel button.danger").click()
    tab.screenshot("job-cancel-confirm")
    confirm = tab.find(".cancel button.danger")
    assert confirm.text == "Yes, cancel it"
    confirm.click()
    tab.wait_text("#job-state", "cancelled")
    assert not tab.all(".cancel")
    assert "cancelled from the web UI" in tab.text_of("pre.stderr")
    details = farm.run(farm.running.service.get_job(DEV_PRINCIPAL, job.id))
    assert details.job.state is JobState.CANCELLED


def test_keep_it_leaves_the_job_alone(farm, tab):
    job = score_job(farm, "ui-keep")
    tab.open(f"{farm.http_url}/ui/#/jobs/{job.id}")
    tab.find(".cancel button.danger").click()
    tab.until(lambda: tab.text_of(".cancel").startswith("Cancel this job?"), "asked")
    tab.js(
        "[...document.querySelectorAll('.cancel button')].find(b => b.textContent === 'Keep it').click();"
    )
    assert tab.find(".cancel button.danger").text == "Cancel job"
    details = farm.run(farm.running.service.get_job(DEV_PRINCIPAL, job.id))
    assert details.job.state is JobState.PENDING


def test_an_unknown_job_says_so(farm, tab):
    tab.open(f"{farm.http_url}/ui/#/jobs/00000000-0000-4000-8000-000000000000")
    assert "not" in tab.wait_text(".job-page .problem", "00000000").lower()

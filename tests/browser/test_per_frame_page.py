"""The Job page's new parts: the download links of a score job whose node shipped its full
per-frame series (the CSV is fetched with the page's token and saved through a blob), the chart
of an encode scored after encoding (`--score-after`), Retry on a failed job's page, and the
Jobs page retrying the failed jobs ticked in one call."""

from __future__ import annotations

import pytest
from tests.browser.conftest import encode_job, press, score_job
from tests.farm import ship_frames

from vmafx.controller.auth import DEV_PRINCIPAL
from vmafx.core.messages import JobFilter, NodeReport

pytestmark = pytest.mark.browser

#: Captures what a download link saves instead of saving it (a blob's text, the file name).
CAPTURE = """
window.saved = [];
const make = URL.createObjectURL;
URL.createObjectURL = (blob) => { window.saved.push(blob); return make(blob); };
HTMLAnchorElement.prototype.click = function () { window.savedName = this.download; };
"""


def test_a_score_job_offers_its_full_per_frame_series_as_csv(farm, node, tab):
    job = score_job(farm, "ui-frames", "dis.mp4")
    claim = farm.run(node.claim("ui-frames"))
    farm.run(node.complete(claim, frames=40, shipped=True))
    tab.open(f"{farm.http_url}/ui/#/jobs/{job.id}")
    tab.find(".frames-links button.frames-csv")
    assert "Every frame" in tab.text_of(".frames-links")
    tab.js(CAPTURE)
    press(tab, ".frames-links button.frames-csv")
    tab.until(lambda: tab.js("return window.saved.length === 1;"), "the CSV fetched")
    text = tab.driver.execute_async_script(
        "const done = arguments[arguments.length - 1]; window.saved[0].text().then(done);"
    )
    lines = text.splitlines()
    assert lines[0] == "distorted,frame,vmaf_v0.6.1,psnr_y,integer_adm2"
    assert len(lines) == 41 and lines[1].startswith(f"{farm.path('dis.mp4')},0,")
    assert tab.js("return window.savedName;") == f"vmafx-{job.id[:8]}-frames.csv"


def test_an_encode_scored_after_encoding_charts_its_per_frame_vmaf(farm, node, tab):
    job = encode_job(farm, "ui-encode-chart")
    claim = farm.run(node.claim("ui-encode-chart"))
    frames = 36
    after = {
        "reference": job.spec["source"],
        "vmaf": 93.2,
        "frame_count": frames,
        "series": {
            "frame_nums": list(range(frames)),
            "vmaf_v0.6.1": [90 + (i % 6) for i in range(frames)],
        },
    }
    encoded = {"output": job.spec["output"], "encoder": "libsvtav1", "hardware": False,
               "bytes": 412_000, "bitrate_kbps": 2200, "width": 1280, "height": 720,
               "frames": frames, "duration_s": 1.5, "score_after": after}  # fmt: skip
    result = ship_frames(encoded, frames)
    report = NodeReport(job_id=claim.job.id, attempt=claim.job.attempt, result=result)
    assert farm.run(node.client.report_result(node.session, report)) == ""
    tab.open(f"{farm.http_url}/ui/#/jobs/{job.id}")
    tab.until(lambda: len(tab.all("svg.chart polyline.series")) == 1, "the encode's series drawn")
    points = tab.js("return document.querySelector('svg.chart polyline.series').dataset.points;")
    assert points == str(frames)
    assert tab.find(".frames-links button.frames-json")
    tab.screenshot("job-encode-chart")


def test_a_failed_job_is_retried_from_its_page_as_a_linked_new_job(farm, node, tab):
    job = score_job(farm, "ui-retry", "dis.mp4")
    claim = farm.run(node.claim("ui-retry"))
    farm.run(node.fail(claim, "ffmpeg: No space left on device"))
    tab.open(f"{farm.http_url}/ui/#/jobs/{job.id}")
    press(tab, "button.retry-job")
    tab.until(lambda: job.id not in tab.driver.current_url, "the retry's page")
    link = tab.find(".retry-of a")
    assert link.text == job.id[:8]
    retry_id = tab.driver.current_url.rsplit("/", 1)[-1]
    retry = farm.run(farm.running.service.get_job(DEV_PRINCIPAL, retry_id)).job
    assert (retry.spec, retry.queue, retry.idempotency_key) == (
        job.spec,
        "ui-retry",
        f"retry-of:{job.id}",
    )
    assert tab.text_of("#job-state") == "pending"


def test_selected_failed_jobs_are_retried_in_one_call_from_the_jobs_page(farm, node, tab):
    failed = []
    for _ in range(2):
        failed.append(score_job(farm, "ui-bulk-retry", "dis.mp4").id)
        claim = farm.run(node.claim("ui-bulk-retry"))
        farm.run(node.fail(claim, "decoder error"))
    tab.open(f"{farm.http_url}/ui/#/jobs?state=failed&queue=ui-bulk-retry")
    tab.until(lambda: len(tab.all("tbody.job")) == 2, "the two failed jobs")
    press(tab, "input.pick-page")
    tab.wait_text(".bulk .count", "2 jobs selected")
    press(tab, ".bulk button.bulk-retry")
    press(tab, ".bulk button.confirm")
    tab.wait_text(".bulk .done", "Retried 2 jobs of 2 matching.")
    service = farm.running.service
    page = farm.run(
        service.list_jobs(
            DEV_PRINCIPAL, JobFilter(queues=("ui-bulk-retry",), search="state:pending")
        )
    )
    assert sorted(job.idempotency_key for job in page.jobs) == sorted(
        f"retry-of:{job_id}" for job_id in failed
    )

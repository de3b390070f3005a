"""Watched folders in the web UI (issue 18 items 4 and 5): the Libraries page counts each
library's jobs by state and lists its files with their verdicts; a health job's page lists its
decode errors with their times and frame numbers."""

from __future__ import annotations

import pytest
from tests.browser.conftest import submit

from vmafx.controller.auth import DEV_PRINCIPAL as DEV
from vmafx.core.jobs import JobKind
from vmafx.core.libraries import file_key, library_batch_id

pytestmark = pytest.mark.browser

BROKEN = {
    "source": "", "ok": False, "frames_decoded": 71, "frames_expected": 72,
    "duration_s": 3.0, "decoded_s": 3.0, "codec": "h264", "width": 320, "height": 240,
    "error_count": 2, "elapsed_s": 0.2, "decoder": "PyAV 18.1.0",
    "errors": [
        {"frame": 22, "time_s": 0.917, "stream": "video",
         "message": "error while decoding MB 15 10, bytestream -6"},
        {"frame": 71, "time_s": None, "stream": "video",
         "message": "1 of 72 frames missing (71 decoded): the file ends early or frames were dropped"},
    ],
}  # fmt: skip


def health_job(farm, name: str, library: str = "incoming"):
    path = farm.path(name)
    return submit(
        farm,
        JobKind.HEALTH,
        {"source": path},
        queue="ui-health",
        batch_id=library_batch_id(library),
        idempotency_key=file_key(library, "health", path, 100, 1),
    )


def test_the_libraries_page_counts_jobs_and_the_health_page_lists_errors(farm, node, tab):
    broken = health_job(farm, "master.mov")
    clean = health_job(farm, "ref.mp4")
    waiting = health_job(farm, "dis.mp4")
    for job, result in ((broken, BROKEN), (clean, {**BROKEN, "ok": True, "error_count": 0,
                                                   "errors": [], "frames_decoded": 72})):  # fmt: skip
        claim = farm.run(node.claim("ui-health"))
        assert claim.job.id == job.id
        farm.run(node.complete_with(claim, {**result, "source": job.spec["source"]}))

    tab.open(f"{farm.http_url}/ui/#/libraries")
    card = 'article.library[data-name="incoming"]'
    tab.wait_text(f"{card} .counts", "2 completed")
    assert "1 pending" in tab.text_of(f"{card} .counts")
    rows = tab.text_of(f"{card} .library-files tbody")
    assert "master.mov" in rows and "2 decode errors" in rows
    assert "ref.mp4" in rows and "healthy" in rows and "dis.mp4" in rows
    tab.screenshot("libraries")

    tab.open(f"{farm.http_url}/ui/#/jobs/{broken.id}")
    tab.wait_text("#health-verdict", "2 decode errors")
    errors = tab.text_of("table.health-errors tbody")
    assert "0.917 s" in errors and "22" in errors and "error while decoding MB 15 10" in errors
    assert "71 of 72" in tab.text_of(".panel.health")
    tab.screenshot("job-health")
    farm.run(farm.running.service.cancel_job(DEV, waiting.id, "test over"))

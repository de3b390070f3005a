"""The Jobs page with 100,000 jobs in the store: the first rows are drawn (the time is reported,
not asserted: the machine is shared), search finds one file among them, pages follow each other,
and "select all matching" cancels thousands of jobs in one call."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.browser.conftest import press
from tests.farm import Farm, migrated_template

from vmafx.controller.auth import DEV_PRINCIPAL
from vmafx.core.jobs import JobKind, JobState
from vmafx.core.messages import JobFilter
from vmafx.store.sql import rows
from vmafx.store.sql.engine import create_engine
from vmafx.store.sql.schema import jobs
from vmafx.testing import make_job

pytestmark = pytest.mark.browser

JOBS = 100_000
CRFS = 40  # clip i is encoded at CRF 10 + i % 40: each CRF names 2,500 clips
CHUNK = 10_000


def clip(i: int) -> str:
    return f"/media/clips/clip_{i:06d}_crf{10 + i % CRFS}.mp4"


def seed(path: Path) -> None:
    """100,000 pending score jobs written straight into the store's SQLite file: job 0 through
    the store's own row mapping, the other 99,999 copied from it by one INSERT … SELECT that
    changes the id, the distorted file and the times (submitting them would take minutes)."""
    spec = {"reference": "/media/ref.mp4", "distorted": [clip(0)]}
    first = make_job(JobKind.SCORE, tenant=DEV_PRINCIPAL.tenant, spec=spec)
    values = {**rows.job_values(first), "queue": "scale"}
    columns = [column.name for column in jobs.columns]
    changed = {
        "id": "printf('%08x-0000-4000-8000-%012x', n.i, n.i)",
        "spec": "json_set(j.spec, '$.distorted', json_array(" + CLIP_SQL + "))",
        "files": "'/media/ref.mp4' || char(10) || " + CLIP_SQL,
        **{
            name: f"datetime(j.{name}, '+' || n.i || ' seconds') || '.000000'"
            for name in ("created_at", "updated_at", "available_at")
        },
    }
    picked = ", ".join(changed.get(name, f"j.{name}") for name in columns)
    engine = create_engine(f"sqlite:///{path}", pool_size=1)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(jobs), [values])
            connection.exec_driver_sql(
                f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {JOBS - 1}) "
                f"INSERT INTO jobs ({', '.join(columns)}) SELECT {picked} FROM n, jobs AS j "
                f"WHERE j.id = '{first.id}'"
            )
    finally:
        engine.dispose()


#: `clip(n.i)` in SQL.
CLIP_SQL = f"printf('/media/clips/clip_%06d_crf%d.mp4', n.i, 10 + n.i % {CRFS})"


@pytest.fixture(scope="module")
def big_farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    folder = tmp_path_factory.mktemp("ui-scale")
    template = migrated_template(folder)
    seeded = folder / "seeded.db"
    shutil.copy(template, seeded)
    started = time.perf_counter()
    seed(seeded)
    print(f"seeded {JOBS:,} jobs in {time.perf_counter() - started:.1f} s")
    # The production sweep periods: the test farm's 0.2 s would re-explain 100,000 waiting
    # jobs without pause.
    made = Farm(
        folder / "farm", seeded, settings={"sweep_interval_s": 5.0, "pending_refresh_s": 10.0}
    )
    try:
        yield made
    finally:
        made.close()


def report(request: pytest.FixtureRequest, line: str) -> None:
    """A line in the test run's output (shown without -s) and in the JUnit properties."""
    request.node.user_properties.append(("figure", line))
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n[jobs at scale] {line}")


def _wait(tab, check, seconds: float = 90.0) -> None:
    """Wait longer than the browser's default: thousands of cancels on a shared machine."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(tab.driver, seconds, poll_frequency=0.2).until(lambda _driver: check())


def row_ids(tab) -> list[str]:
    """The ids of the rows on screen, read at once (rows are redrawn while a test reads)."""
    return list(
        tab.js("return [...document.querySelectorAll('tbody.job')].map((n) => n.dataset.id);")
    )


def test_the_first_page_of_100000_jobs_is_drawn_and_pages_follow(big_farm, tab, request):
    tab.open(f"{big_farm.http_url}/ui/#/jobs")
    tab.until(lambda: len(tab.all("tbody.job")) == 50, "the first 50 rows")
    drawn_ms = tab.js("return window.vmafxFirstRowsMs;")
    assert isinstance(drawn_ms, int | float) and drawn_ms > 0
    report(request, f"first rows drawn {drawn_ms:.0f} ms after navigation, {JOBS:,} jobs")
    assert tab.wait_text("button.chip.state-all b", "100,000") == "100,000"
    first = row_ids(tab)
    assert tab.text_of(f'tbody.job[data-id="{first[0]}"] td.files') == (
        f"ref.mp4 → {Path(clip(JOBS - 1)).name}"
    )
    tab.find("nav.pager button.older").click()
    tab.until(lambda: row_ids(tab) and row_ids(tab)[0] not in first, "page 2")
    assert tab.text_of("nav.pager .page-label") == "Page 2"
    second = row_ids(tab)
    assert len(second) == 50 and not set(first) & set(second)
    tab.find("nav.pager button.newer").click()
    tab.until(lambda: row_ids(tab) == first, "back on page 1")
    tab.screenshot("jobs-at-scale")


def test_search_finds_one_file_among_100000(big_farm, tab, request):
    wanted = clip(42_424)
    tab.open(f"{big_farm.http_url}/ui/#/jobs")
    tab.find("tbody.job")
    started = time.perf_counter()
    tab.find('input[name="q"]').send_keys(Path(wanted).stem)
    tab.until(lambda: len(tab.all("tbody.job")) == 1, "one match")
    report(
        request,
        f"search answered in {time.perf_counter() - started:.2f} s (with 0.3 s typing pause)",
    )
    [only] = row_ids(tab)
    job = big_farm.run(big_farm.running.service.get_job(DEV_PRINCIPAL, only)).job
    assert job.spec["distorted"] == [wanted]
    assert "q=clip_042424" in tab.driver.current_url


def test_all_matching_jobs_are_cancelled_in_one_call(big_farm, tab, request):
    service = big_farm.running.service
    crf17 = JobFilter(search="crf17")
    before = big_farm.run(service.count_jobs(DEV_PRINCIPAL, crf17))
    assert before == {JobState.PENDING: JOBS // CRFS}
    tab.open(f"{big_farm.http_url}/ui/#/jobs?q=crf17")
    tab.until(lambda: len(tab.all("tbody.job")) == 50, "a full page of crf17 jobs")
    assert tab.wait_text("button.chip.state-all b", "2,500") == "2,500"
    tab.find("input.pick-page").click()
    tab.wait_text(".bulk .count", "50 jobs selected")
    press(tab, ".bulk button.all-matching")
    tab.wait_text(".bulk .count", "All 2,500 matching jobs selected")
    press(tab, ".bulk button.bulk-cancel")
    press(tab, ".bulk button.confirm")
    started = time.perf_counter()
    _wait(tab, lambda: "Cancelled 2,500 jobs of 2,500 matching" in tab.text_of(".bulk"))
    report(
        request, f"bulk cancel of 2,500 of {JOBS:,} jobs took {time.perf_counter() - started:.1f} s"
    )
    after = big_farm.run(service.count_jobs(DEV_PRINCIPAL, crf17), timeout=30)
    assert after == {JobState.CANCELLED: JOBS // CRFS}
    everything = big_farm.run(service.count_jobs(DEV_PRINCIPAL, JobFilter()), timeout=30)
    assert everything[JobState.PENDING] == JOBS - JOBS // CRFS
    tab.until(lambda: tab.all('tbody.job[data-state="cancelled"]'), "rows show cancelled")

"""The Jobs page: host / GPU and score of a finished job, live progress, why a job waits,
filters, and the submit form's inline errors."""

from __future__ import annotations

import pytest
from tests.browser.conftest import score_job, submit

from vmafx.controller.auth import DEV_PRINCIPAL
from vmafx.core.jobs import JobKind, Requirements

pytestmark = pytest.mark.browser


def row(job_id: str) -> str:
    return f'tbody.job[data-id="{job_id}"]'


def test_a_completed_job_shows_its_host_gpu_and_score(farm, node, tab):
    job = score_job(farm, "ui-done")
    claim = farm.run(node.claim("ui-done"))
    farm.run(node.complete(claim))
    tab.open(f"{farm.http_url}/")
    tab.find(f'{row(job.id)}[data-state="completed"]')
    assert tab.wait_text(f"{row(job.id)} td.where", "zampp2 / L4") == "zampp2 / L4"
    assert tab.text_of(f"{row(job.id)} td.num").startswith("88.")
    assert tab.text_of(f"{row(job.id)} .pct") == "100%"
    tab.screenshot("jobs")


def test_a_running_jobs_progress_bar_moves_without_a_reload(farm, node, tab):
    tab.open(f"{farm.http_url}/ui/#/jobs")
    tab.find("table.jobs")
    tab.js("window.loadedOnce = true;")
    job = score_job(farm, "ui-live")
    claim = farm.run(node.claim("ui-live"))
    bar = f"{row(job.id)} .bar"
    for fraction, shown in ((0.25, "25.0"), (0.75, "75.0")):
        farm.run(node.progress(claim, fraction))
        tab.until(lambda shown=shown: tab.find(bar).get_attribute("aria-valuenow") == shown, shown)
    assert tab.text_of(f"{row(job.id)} .pct") == "75%"
    assert tab.wait_text(f"{row(job.id)} td.where", "zampp2 / L4")
    width = tab.js("return arguments[0].style.width;", tab.find(f"{bar} .fill"))
    assert width == "75%"
    assert tab.js("return window.loadedOnce === true;"), "the page was reloaded"
    farm.run(node.complete(claim))


def test_a_job_no_node_can_run_says_why_it_waits(farm, node, tab):
    spec = {
        "source": farm.path("master.mov"),
        "output": farm.path("av1.mp4"),
        "codec": "av1",
        "encoder": "av1_nvenc",
    }
    job = submit(farm, JobKind.ENCODE, spec, requirements=Requirements(encoder="av1_nvenc"))
    tab.open(f"{farm.http_url}/ui/#/jobs")
    note = tab.wait_text(f"{row(job.id)} tr.note", "av1_nvenc")
    assert note.startswith("waiting: no live node can run it")
    assert "zampp2-l4: needs encoder av1_nvenc" in note
    assert tab.text_of(f"{row(job.id)} .badge") == "pending"


def test_filters_narrow_the_list_and_stay_in_the_address(farm, tab):
    score = score_job(farm, "ui-filter")
    tab.open(f"{farm.http_url}/ui/#/jobs?queue=ui-filter")
    tab.find(row(score.id))
    assert {item.get_attribute("data-id") for item in tab.all("tbody.job")} == {score.id}
    kind = tab.find('select[name="kind"]')
    tab.js("arguments[0].value = 'encode'; arguments[0].dispatchEvent(new Event('change'));", kind)
    tab.until(lambda: not tab.all(row(score.id)), "the score job is filtered out")
    assert "kind=encode" in tab.driver.current_url and "queue=ui-filter" in tab.driver.current_url
    assert "No job matches" in tab.text_of("p.empty")


def _open_form(tab, farm):
    tab.open(f"{farm.http_url}/ui/#/jobs")
    tab.find("details.submit summary").click()


def test_the_submit_form_shows_the_controllers_refusal_inline(farm, tab):
    _open_form(tab, farm)
    tab.find('input[name="reference"]').send_keys("/etc/hosts")
    tab.find('textarea[name="distorted"]').send_keys(farm.path("dis.mp4"))
    tab.find('form.submit-form button[type="submit"]').click()
    problem = tab.wait_text(".outcome .problem", "outside the scoring roots")
    assert "Reference '/etc/hosts' lies outside the scoring roots" in problem
    assert "Move it under one of" in problem
    tab.screenshot("submit-error")


def test_the_submit_form_names_a_missing_spec_field(farm, tab):
    _open_form(tab, farm)
    tab.find('textarea[name="distorted"]').send_keys(farm.path("dis.mp4"))
    tab.find('form.submit-form button[type="submit"]').click()
    assert "reference" in tab.wait_text(".outcome .problem", "reference")


def test_a_job_submitted_from_the_form_appears_in_the_list(farm, tab):
    _open_form(tab, farm)
    tab.find('input[name="reference"]').send_keys(farm.path("ref.mp4"))
    tab.find('textarea[name="distorted"]').send_keys(farm.path("dis.mp4"))
    tab.find('form.submit-form button[type="submit"]').click()
    link = tab.find(".outcome .ok a")
    job_id = farm.run(farm.running.service.list_jobs(DEV_PRINCIPAL, limit=1)).jobs[0].id
    assert job_id.startswith(link.text)
    tab.find(row(job_id))

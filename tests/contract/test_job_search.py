"""The JobStore contract for finding jobs among many: search by file name, id prefix, node and
error text, counts per state, and cancelling many jobs in one transaction. Every store (memory,
SQLite, PostgreSQL) passes it."""

from __future__ import annotations

import dataclasses

from vmafx.core.jobs import JobKind, JobState
from vmafx.core.jobsearch import IMPOSSIBLE, Field, Term
from vmafx.store import JobQuery


def _score(farm, reference: str, *distorted: str):
    spec = {"reference": reference, "distorted": list(distorted)}
    return farm.submit(JobKind.SCORE, spec=spec)


def _terms(*words: tuple[Field, str]) -> tuple[Term, ...]:
    return tuple(Term(field, text) for field, text in words)


async def _found(farm, *words: tuple[Field, str], **query) -> set[str]:
    page = await farm.store.list_jobs(JobQuery(terms=_terms(*words), **query), limit=100)
    return {job.id for job in page.jobs}


async def test_a_file_search_matches_any_input_or_output_path_case_insensitively(farm):
    crf = await _score(farm, "/media/ref.mp4", "/media/Film_CRF38.mp4")
    other = await _score(farm, "/media/ref.mp4", "/media/film_crf23.mp4")
    spec = {"source": "/media/master.mov", "output": "/out/master_crf38.mp4", "codec": "h264"}
    encode = await farm.submit(JobKind.ENCODE, spec=spec)
    assert await _found(farm, (Field.FILE, "crf38")) == {crf.id, encode.id}
    assert await _found(farm, (Field.ANY, "film_crf")) == {crf.id, other.id}
    assert await _found(farm, (Field.FILE, "master.mov")) == {encode.id}
    assert await _found(farm, (Field.FILE, "nothing-like-it")) == set()


async def test_search_wildcards_in_the_text_are_taken_literally(farm):
    plain = await _score(farm, "/m/ref.mp4", "/m/a_b.mp4")
    await _score(farm, "/m/ref.mp4", "/m/axb.mp4")
    assert await _found(farm, (Field.FILE, "a_b")) == {plain.id}
    assert await _found(farm, (Field.FILE, "%")) == set()


async def test_an_id_search_matches_a_prefix_only(farm):
    job = await farm.submit()
    await farm.submit()
    assert await _found(farm, (Field.ID, job.id[:6])) == {job.id}
    assert await _found(farm, (Field.ANY, job.id[:8])) == {job.id}
    assert await _found(farm, (Field.ID, job.id[2:10])) == set()


async def test_a_node_search_finds_jobs_running_there_and_jobs_that_ran_there(farm):
    finished, running, elsewhere = await farm.submit(), await farm.submit(), await farm.submit()
    gpu = await farm.node("gpu-box-2")
    other = await farm.node("cpu-box-1")
    first = await farm.store.claim_next(gpu.id, now=farm.now)
    assert first is not None and first.id == finished.id
    await farm.store.complete_job(
        finished.id, attempt=1, session_id=gpu.id, now=farm.now, result={"vmaf": 90.0}
    )
    assert (await farm.store.claim_next(gpu.id, now=farm.now)).id == running.id
    assert (await farm.store.claim_next(other.id, now=farm.now)).id == elsewhere.id
    assert await _found(farm, (Field.NODE, "GPU-BOX")) == {finished.id, running.id}
    assert await _found(farm, (Field.ANY, "cpu-box")) == {elsewhere.id}


async def test_an_error_search_matches_the_error_text(farm):
    job = await farm.submit()
    fine = await farm.submit()
    node = await farm.node()
    assert (await farm.store.claim_next(node.id, now=farm.now)).id == job.id
    await farm.store.fail_job(
        job.id, attempt=1, session_id=node.id, now=farm.now, error="ffmpeg: No space left on device"
    )
    assert await _found(farm, (Field.ERROR, "no space left")) == {job.id}
    assert fine.id not in await _found(farm, (Field.ANY, "space"))


async def test_every_word_must_match_and_structured_filters_still_apply(farm):
    both = await _score(farm, "/media/ref_a.mp4", "/media/crf38.mp4")
    await _score(farm, "/media/ref_b.mp4", "/media/crf38.mp4")
    await farm.submit(
        JobKind.SCORE,
        tenant="globex",
        spec={"reference": "/media/ref_a.mp4", "distorted": ["/media/crf38.mp4"]},
    )
    words = ((Field.FILE, "crf38"), (Field.FILE, "ref_a"))
    assert await _found(farm, *words, tenant="acme") == {both.id}
    assert await _found(farm, *words, tenant="acme", states=(JobState.FAILED,)) == set()
    assert await _found(farm, (Field.FILE, "crf38"), IMPOSSIBLE_WORD, tenant="acme") == set()


IMPOSSIBLE_WORD = (IMPOSSIBLE.field, IMPOSSIBLE.text)


async def test_search_pages_are_full_while_more_matches_follow(farm):
    wanted = [(await _score(farm, "/r.mp4", f"/hit_{i}.mp4")).id for i in range(5)]
    for i in range(5):
        await _score(farm, "/r.mp4", f"/miss_{i}.mp4")
    query = JobQuery(terms=_terms((Field.FILE, "hit_")))
    first = await farm.store.list_jobs(query, limit=3)
    second = await farm.store.list_jobs(query, limit=3, cursor=first.next_cursor)
    assert len(first.jobs) == 3 and second.next_cursor is None
    assert [job.id for job in (*first.jobs, *second.jobs)] == wanted[::-1]


async def test_count_jobs_counts_the_matching_jobs_per_state(farm):
    jobs = [await _score(farm, "/r.mp4", f"/crf38_{i}.mp4") for i in range(3)]
    await _score(farm, "/r.mp4", "/crf23.mp4")
    await farm.store.cancel_job(jobs[0].id, now=farm.now)
    query = JobQuery(tenant="acme", terms=_terms((Field.FILE, "crf38")))
    assert await farm.store.count_jobs(query) == {JobState.PENDING: 2, JobState.CANCELLED: 1}
    assert await farm.store.count_jobs(JobQuery(tenant="nobody")) == {}


async def test_cancel_jobs_cancels_the_live_ones_in_one_go_and_skips_the_rest(farm):
    pending = [await farm.submit() for _ in range(3)]
    node = await farm.node()
    running = await farm.store.claim_next(node.id, now=farm.now)
    assert running is not None and running.id == pending[0].id
    finished = await farm.submit()
    await farm.store.cancel_job(finished.id, now=farm.now)
    other_tenant = await farm.submit(tenant="globex")
    ids = [job.id for job in (*pending, finished, other_tenant)] + ["no-such-job"]
    done = await farm.store.cancel_jobs(ids, now=farm.now, tenant="acme", reason="bulk")
    assert {job.id for job in done} == {job.id for job in pending}
    assert {job.state for job in done} == {JobState.CANCELLED}
    assert (await farm.store.get_job(other_tenant.id)).state is JobState.PENDING
    renewal = await farm.store.renew_leases(node.id, now=farm.now, job_ids=[running.id])
    assert renewal.cancel == [running.id]
    assert (await farm.store.get_job(pending[1].id)).error == "bulk"


async def test_a_resubmitted_spec_keeps_its_files_searchable_after_updates(farm):
    job = await _score(farm, "/media/ref.mp4", "/media/clip_A.mp4")
    node = await farm.node()
    await farm.store.claim_next(node.id, now=farm.now)
    await farm.store.report_progress(
        job.id, attempt=1, session_id=node.id, now=farm.now, progress=0.5
    )
    assert await _found(farm, (Field.FILE, "clip_a")) == {job.id}
    assert dataclasses.replace(job, state=JobState.RUNNING).spec == job.spec

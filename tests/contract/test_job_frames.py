"""The JobStore contract for a job's per-frame series: kept beside the job, replaced whole,
scoped to its tenant. Every store (memory, SQLite, PostgreSQL) passes it."""

from __future__ import annotations

import pytest

from vmafx.errors import NotFoundError


async def test_frames_are_kept_by_input_and_replaced_whole(farm):
    job = await farm.submit()
    assert await farm.store.get_frames(job.id) == {}
    await farm.store.save_frames(job.id, {1: b"\x1f\x8b second", 0: b"\x1f\x8b first"})
    assert await farm.store.get_frames(job.id) == {0: b"\x1f\x8b first", 1: b"\x1f\x8b second"}
    await farm.store.save_frames(job.id, {0: b"again"})
    assert await farm.store.get_frames(job.id, tenant="acme") == {0: b"again"}


async def test_frames_of_an_unknown_or_foreign_job_are_not_found(farm):
    job = await farm.submit(tenant="acme")
    await farm.store.save_frames(job.id, {0: b"data"})
    with pytest.raises(NotFoundError):
        await farm.store.get_frames(job.id, tenant="globex")
    with pytest.raises(NotFoundError):
        await farm.store.save_frames("no-such-job", {0: b"data"})

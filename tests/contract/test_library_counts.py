"""`JobStore.batch_counts`: the jobs of watched folders (batch ids `watch:NAME`) counted per
library and state, per tenant, in every store; `_` and `%` in the prefix are literal; and a
running job's `progress_detail` (phase, fps, ETA, encoder) is kept, then cleared at its end."""

from __future__ import annotations

import pytest

from vmafx.core.jobs import JobKind, JobState

pytestmark = pytest.mark.anyio


async def test_batch_counts_group_watched_jobs_by_library_and_state(farm):
    for batch in ("watch:a", "watch:a", "watch:b", "other", "watchers", None):
        await farm.submit(JobKind.HEALTH, spec={"source": "/m/x.mp4"}, batch_id=batch)
    await farm.submit(JobKind.HEALTH, spec={"source": "/m/y.mp4"}, batch_id="watch:a",
                      tenant="globex")  # fmt: skip
    done = await farm.submit(JobKind.HEALTH, spec={"source": "/m/z.mp4"}, batch_id="watch:b")
    await farm.store.cancel_job(done.id, now=farm.now)
    counts = await farm.store.batch_counts("watch:", tenant="acme")
    assert counts == {
        "watch:a": {JobState.PENDING: 2},
        "watch:b": {JobState.PENDING: 1, JobState.CANCELLED: 1},
    }
    assert await farm.store.batch_counts("watch:", tenant="globex") == {
        "watch:a": {JobState.PENDING: 1}
    }
    await farm.submit(JobKind.HEALTH, spec={"source": "/m/x.mp4"}, batch_id="watchXa")
    assert set(await farm.store.batch_counts("watch_", tenant="acme")) == set()


async def test_progress_detail_is_kept_while_running_and_cleared_at_the_end(farm):
    job = await farm.submit(JobKind.ENCODE, spec={"source": "/s.mov", "output": "/o.mkv",
                                                  "codec": "av1"})  # fmt: skip
    node = await farm.node()
    claimed = await farm.store.claim_next(node.id, now=farm.now)
    assert claimed is not None and claimed.id == job.id
    detail = {"phase": "encoding", "frames": 10, "fps": 2.5, "eta_s": 40.0, "encoder": "libaom-av1"}
    moved = await farm.store.report_progress(job.id, attempt=1, session_id=node.id, now=farm.now,
                                             progress=0.2, partial={**detail, "junk": 1})  # fmt: skip
    assert moved.progress_detail == detail
    assert (await farm.store.get_job(job.id)).progress_detail == detail
    ended = await farm.store.complete_job(job.id, attempt=1, session_id=node.id, now=farm.now,
                                          result={"output": "/o.mkv"})  # fmt: skip
    assert ended.progress_detail is None
    assert (await farm.store.get_job(job.id)).progress_detail is None

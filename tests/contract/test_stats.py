"""The statistics contract: memory, SQLite and PostgreSQL aggregate the same figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vmafx.core.attempts import Attribution
from vmafx.core.jobs import JobKind
from vmafx.core.nodes import GpuInfo
from vmafx.core.stats import VMAF_BINS, StatsWindow
from vmafx.scheduler import Scheduler
from vmafx.scheduler.leases import LeaseSettings


@pytest.fixture
def scheduler() -> Scheduler:
    """Sessions and leases outlive the two hours the farm below runs (no heartbeats needed)."""
    day = timedelta(days=1)
    return Scheduler(LeaseSettings(lease_ttl=day, session_ttl=day))


L4 = GpuInfo(vendor="nvidia", name="L4", uuid="GPU-1111", index=0, memory_mb=23034)
START = datetime(2025, 1, 1, tzinfo=UTC)


async def _run(farm, node, kind=JobKind.SCORE, *, seconds=60.0, result=None, error=None, gpu=None):
    """Submit one job of `kind`, claim it on `node`, let it run `seconds`, then end it."""
    job = await farm.submit(kind, queue=kind.value)
    claimed = await farm.store.claim_next(node.id, now=farm.now, queues=[kind.value])
    assert claimed is not None and claimed.id == job.id
    farm.clock.advance(seconds)
    attribution = Attribution(gpu=gpu) if gpu else None
    if error is not None:
        return await farm.store.fail_job(
            job.id, attempt=claimed.attempt, session_id=node.id, now=farm.now, error=error,
            attribution=attribution,
        )  # fmt: skip
    return await farm.store.complete_job(
        job.id, attempt=claimed.attempt, session_id=node.id, now=farm.now,
        result=result or {"score": 90.0}, attribution=attribution,
    )  # fmt: skip


def _encode_result(source: int, output: int, vmaf: float | None, codec: str = "hevc") -> dict:
    result: dict = {"output": "/o.mp4", "codec": codec, "bytes": output, "source_bytes": source}
    if vmaf is not None:
        result["score_after"] = {"vmaf": vmaf}
    return result


@pytest.fixture
async def busy_farm(farm):
    """Two nodes, two hours: scores, encodes (one on a GPU), failures, and waiting jobs."""
    a = await farm.node("node-a", gpus=(L4,), gpu_vendor="nvidia")
    b = await farm.node("node-b")
    await _run(farm, a, seconds=30)  # hour 0: score on a
    await _run(farm, b, seconds=30)  # hour 0: score on b
    await _run(farm, a, JobKind.ENCODE, seconds=120, gpu=L4,
               result=_encode_result(10_000, 4_000, 93.4))  # fmt: skip
    await _run(farm, b, JobKind.ENCODE, result=_encode_result(5_000, 1_000, 97.0, "av1"))
    await _run(farm, b, JobKind.ENCODE, result=_encode_result(5_000, 2_000, 100.0, "av1"))
    await _run(farm, b, error="ffmpeg exited 1: Invalid data found\nsecond line, ignored")
    farm.clock.advance(3600)  # hour 1
    await _run(farm, a, error="ffmpeg exited 1: Invalid data found\nother detail")
    await _run(farm, a, error="x" * 200)
    await _run(farm, a, JobKind.ENCODE, result={"output": "/o.mp4", "bytes": 7})  # no source size
    await farm.submit(JobKind.SCORE, queue="waiting")
    await farm.submit(JobKind.SCORE, queue="waiting")
    return farm


async def test_throughput_counts_ended_jobs_per_bucket_kind_node_and_state(busy_farm):
    window = StatsWindow(START, busy_farm.now + timedelta(seconds=1), 3600)
    stats = await busy_farm.store.farm_stats(window, tenant="acme")
    rows = {(r.bucket - window.first_bucket, r.kind, r.node, r.state): r.count
            for r in stats.throughput}  # fmt: skip
    assert rows == {
        (0, "encode", "node-a", "completed"): 1,
        (0, "encode", "node-b", "completed"): 2,
        (0, "score", "node-a", "completed"): 1,
        (0, "score", "node-b", "completed"): 1,
        (0, "score", "node-b", "failed"): 1,
        (3600, "encode", "node-a", "completed"): 1,
        (3600, "score", "node-a", "failed"): 2,
    }
    assert (stats.completed, stats.failed) == (6, 3)


async def test_failures_group_by_first_line_cut_to_80_characters(busy_farm):
    stats = await busy_farm.store.farm_stats(StatsWindow(START, busy_farm.now), tenant="acme")
    assert [(r.reason, r.count) for r in stats.failures] == [
        ("ffmpeg exited 1: Invalid data found", 2),
        ("x" * 80, 1),
    ]


async def test_savings_vmaf_bins_and_queues(busy_farm):
    stats = await busy_farm.store.farm_stats(StatsWindow(START, busy_farm.now), tenant="acme")
    assert [(s.codec, s.jobs, s.source_bytes, s.output_bytes, s.saved_bytes)
            for s in stats.savings] == [("av1", 2, 10_000, 3_000, 7_000),
                                        ("hevc", 1, 10_000, 4_000, 6_000)]  # fmt: skip
    expected = [0] * VMAF_BINS
    expected[18] = 1  # 93.4
    expected[19] = 2  # 97.0 and 100.0 (the top bin holds 100)
    assert list(stats.vmaf_bins) == expected
    assert [(q.queue, q.state, q.count) for q in stats.queues] == [("waiting", "pending", 2)]


async def test_busy_time_per_node_and_gpu_is_clipped_to_the_window(busy_farm):
    full = await busy_farm.store.farm_stats(StatsWindow(START, busy_farm.now), tenant="acme")
    busy = {(r.node, r.gpu_uuid): (r.attempts, r.busy_s) for r in full.busy}
    assert busy == {  # node-a's one GPU is every attempt's GPU there
        ("node-a", "GPU-1111"): (5, 30 + 120 + 3 * 60),
        ("node-b", ""): (4, 30 + 3 * 60),
    }
    assert {r.gpu_name for r in full.busy if r.gpu_uuid} == {"L4"}
    # A window that starts 10 s into node-a's encode counts the 110 s left of it (and its
    # three later jobs in full, not the score before).
    gpu_start = START + timedelta(seconds=60.003)  # two 30 s scores, a 1 ms step per submit
    cut = StatsWindow(gpu_start + timedelta(seconds=10), busy_farm.now)
    clipped = {(r.node, r.gpu_uuid): r.busy_s for r in
               (await busy_farm.store.farm_stats(cut, tenant="acme")).busy}  # fmt: skip
    assert clipped[("node-a", "GPU-1111")] == 110 + 3 * 60


async def test_another_tenant_and_jobs_outside_the_window_are_not_counted(busy_farm):
    other = await busy_farm.store.farm_stats(StatsWindow(START, busy_farm.now), tenant="globex")
    assert (other.completed, other.failed, other.busy, other.queues) == (0, 0, (), ())
    later = StatsWindow(busy_farm.now + timedelta(hours=1), busy_farm.now + timedelta(hours=2))
    empty = await busy_farm.store.farm_stats(later, tenant="acme")
    assert (empty.completed, empty.failed, empty.savings, sum(empty.vmaf_bins)) == (0, 0, (), 0)
    assert [(q.queue, q.count) for q in empty.queues] == [("waiting", 2)]  # queues are "now"


@pytest.mark.parametrize("hours", [0.5, 1.2, 3])
async def test_scanning_and_the_index_give_the_same_figures(busy_farm, hours):
    """SQL stores read a wide window by scanning (SQLite) and a narrow one through the index:
    both ways must agree, whichever the store picks by itself."""
    from vmafx.store.sql import SqlJobStore
    from vmafx.store.sql import stats as sql_stats

    store = busy_farm.store
    if not isinstance(store, SqlJobStore):
        pytest.skip("the in-memory store has one way")
    window = StatsWindow(
        busy_farm.now - timedelta(hours=hours), busy_farm.now + timedelta(seconds=1)
    )
    scanned = await store._read(lambda c: sql_stats.farm_stats(c, window, "acme", wide=True))
    indexed = await store._read(lambda c: sql_stats.farm_stats(c, window, "acme", wide=False))
    assert scanned == indexed == await store.farm_stats(window, tenant="acme")
    assert scanned.completed + scanned.failed > 0

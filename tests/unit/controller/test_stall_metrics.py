"""Where a slow claim's time went: the group commits' transactions, the sweep's steps and the
event loop's lag are timed and exported (issue 15: a slow bucket must name its cause)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from tests.unit.controller.conftest import SpyStore

from vmafx.controller.claims import ClaimBatcher
from vmafx.controller.looplag import LoopWatch
from vmafx.controller.metrics import ControllerMetrics
from vmafx.controller.sweeper import SLOW_STEP_S, Sweeper
from vmafx.errors import UnavailableError
from vmafx.store.port import ClaimRequest

pytestmark = pytest.mark.anyio


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_each_claim_batch_reports_its_size_and_its_transaction_time(farm):
    for _ in range(4):
        await farm.submit()
    nodes = [await farm.register(f"n{i}") for i in range(4)]
    spy = SpyStore(farm.store)
    spy.gate = asyncio.Event()
    registry = CollectorRegistry()
    metrics = ControllerMetrics(registry)
    batcher = ClaimBatcher(spy, farm.clock)
    batcher.observe = lambda size, seconds: metrics.batch("claim", size, seconds)
    first = asyncio.create_task(batcher.claim(ClaimRequest(nodes[0].node_id)))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(batcher.claim(ClaimRequest(n.node_id))) for n in nodes[1:]]
    await asyncio.sleep(0.05)  # the first batch is held in the store this long
    spy.gate.set()
    await asyncio.gather(first, *rest)
    assert spy.batches == [1, 3]
    assert sample(registry, "vmafx_controller_batch_seconds_count", kind="claim") == 2
    assert sample(registry, "vmafx_controller_batch_requests_total", kind="claim") == 4
    quick = sample(registry, "vmafx_controller_batch_seconds_bucket", kind="claim", le="0.025")
    assert quick <= 1  # the held batch took more than 25 ms
    assert sample(registry, "vmafx_controller_batch_seconds_sum", kind="claim") >= 0.045


async def test_a_failed_batch_is_timed_too(farm):
    node = await farm.register("n0")
    spy = SpyStore(farm.store)
    spy.fail_next = True
    seen: list[tuple[int, float]] = []
    batcher = ClaimBatcher(spy, farm.clock)
    batcher.observe = lambda size, seconds: seen.append((size, seconds))
    with pytest.raises(UnavailableError):
        await batcher.claim(ClaimRequest(node.node_id))
    assert [size for size, _ in seen] == [1]


class SlowService:
    """A service whose pending refresh takes `refresh_s` of wall time."""

    def __init__(self, refresh_s: float) -> None:
        self.refresh_s = refresh_s
        self.nodes_changed = asyncio.Event()

    async def expire_once(self) -> list[Any]:
        return []

    async def refresh_pending_reasons(self) -> list[Any]:
        await asyncio.sleep(self.refresh_s)
        return []


async def test_sweep_steps_are_timed_and_a_slow_one_is_logged_with_its_time(caplog):
    registry = CollectorRegistry()
    service = SlowService(SLOW_STEP_S + 0.05)

    async def lock() -> bool:
        return True

    sweeper = Sweeper(
        service,  # type: ignore[arg-type]
        lock=lock,
        vacuum_every_s=3600,
        metrics=ControllerMetrics(registry),
    )
    with caplog.at_level(logging.INFO, logger="vmafx.controller.sweeper"):
        assert await sweeper.run_once(refresh=True)
        assert await sweeper.run_once(refresh=False)
    for step, rounds in (("lock", 2), ("expire", 2), ("refresh", 1), ("prune", 1)):
        count = sample(registry, "vmafx_controller_sweep_step_seconds_count", step=step)
        assert count == rounds, step
    slow = sample(registry, "vmafx_controller_sweep_step_seconds_sum", step="refresh")
    assert slow >= SLOW_STEP_S
    assert re.search(r"sweep step refresh took \d+\.\d\d s", caplog.text)
    assert "sweep step expire" not in caplog.text  # quick steps are not logged


async def test_the_loop_watch_sees_a_blocked_event_loop_and_says_so(caplog):
    registry = CollectorRegistry()
    metrics = ControllerMetrics(registry)
    watch = LoopWatch(metrics.loop_lag, every_s=0.02, warn_s=0.2)
    with caplog.at_level(logging.WARNING, logger="vmafx.controller.looplag"):
        task = asyncio.create_task(watch.run())
        await asyncio.sleep(0.1)
        time.sleep(0.3)  # something holds the loop
        await asyncio.sleep(0.1)
        watch.stop()
        await task
    assert watch.stopping
    assert watch.worst >= 0.2  # the 0.3 s hold, less the part of a period it fell in
    assert sample(registry, "vmafx_controller_event_loop_lag_seconds_count") >= 3
    over = sample(registry, "vmafx_controller_event_loop_lag_seconds_count") - sample(
        registry, "vmafx_controller_event_loop_lag_seconds_bucket", le="0.1"
    )
    assert over >= 1  # the hold (a loaded machine may add late wake-ups of its own)
    assert re.search(r"the event loop was held \d+\.\d\d s: every claim", caplog.text)


def test_the_loop_watch_reports_once_per_quiet_period_and_counts_the_rest(caplog):
    lags: list[float] = []
    watch = LoopWatch(lags.append, warn_s=0.5, quiet_s=10.0)
    with caplog.at_level(logging.WARNING, logger="vmafx.controller.looplag"):
        watch.seen(0.7, now=100.0)
        watch.seen(0.9, now=105.0)  # within the quiet period: counted, not said
        watch.seen(0.1, now=106.0)  # not a stall
        watch.seen(-0.01, now=107.0)  # woke a hair early: no lag
        watch.seen(0.6, now=111.0)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("the event loop was held 0.70 s:")
    assert lines[1].startswith("the event loop was held 0.60 s (1 more since the last report)")
    assert lags == [0.7, 0.9, 0.1, 0.0, 0.6]
    assert watch.worst == 0.9

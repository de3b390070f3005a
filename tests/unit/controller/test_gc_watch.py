"""Garbage collections hold every thread of the controller: each one is timed and exported, a
long one is logged, and what start-up built is kept out of later full collections (issue 15:
full collections of 60-400 ms were a cause of slow claims at 10,000 nodes)."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from vmafx.controller.gcwatch import GcWatch, settle_heap
from vmafx.controller.metrics import ControllerMetrics

PAUSES = "vmafx_controller_gc_pause_seconds"


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


class Steps:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session collects as before


def test_each_collection_is_timed_by_generation_and_exported():
    registry = CollectorRegistry()
    watch = GcWatch(ControllerMetrics(registry).gc_pause)
    watch.install()
    try:
        gc.collect(0)
        gc.collect(2)
        gc.collect(2)
    finally:
        watch.remove()
    gc.collect(2)  # not watched any more
    watch.drain(now=0.0)
    assert sample(registry, f"{PAUSES}_count", generation="2") >= 2  # (others may collect too)
    assert sample(registry, f"{PAUSES}_count", generation="0") >= 1
    assert sample(registry, f"{PAUSES}_sum", generation="2") > 0
    assert watch.worst > 0
    assert watch._callback not in gc.callbacks


def test_a_long_pause_is_logged_once_per_quiet_period(caplog):
    clock = Steps()
    seen: list[tuple[int, float]] = []
    watch = GcWatch(lambda g, s: seen.append((g, s)), warn_s=0.25, quiet_s=10.0, clock=clock)

    def collection(generation: int, seconds: float) -> None:
        watch._callback("start", {"generation": generation})
        clock.now += seconds
        watch._callback("stop", {"generation": generation, "collected": 0})

    with caplog.at_level(logging.WARNING, logger="vmafx.controller.gcwatch"):
        collection(2, 0.4)
        collection(0, 0.001)
        watch.drain(now=100.0)
        collection(2, 0.3)
        watch.drain(now=105.0)  # within the quiet period: counted, not said
        collection(1, 0.01)
        watch.drain(now=106.0)  # no long pause
        collection(2, 0.5)
        watch.drain(now=111.0)
    assert [g for g, _ in seen] == [2, 0, 2, 1, 2]
    assert [round(s, 3) for _, s in seen] == [0.4, 0.001, 0.3, 0.01, 0.5]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("a garbage collection held the interpreter 0.40 s: every claim")
    assert lines[1].startswith(
        "a garbage collection held the interpreter 0.50 s (1 more since the last report)"
    )
    assert watch.worst == pytest.approx(0.5)


def test_a_stop_without_its_start_is_ignored():
    seen: list[tuple[int, float]] = []
    watch = GcWatch(lambda g, s: seen.append((g, s)))
    watch._callback("stop", {"generation": 2})  # installed in the middle of a collection
    watch.drain(now=0.0)
    assert seen == []


@pytest.mark.anyio
async def test_the_watch_drains_while_it_runs_and_removes_its_callback_when_stopped():
    registry = CollectorRegistry()
    watch = GcWatch(ControllerMetrics(registry).gc_pause, every_s=0.02)
    task = asyncio.create_task(watch.run())
    await asyncio.sleep(0.05)
    assert watch._callback in gc.callbacks
    gc.collect(2)
    await asyncio.sleep(0.1)
    assert sample(registry, f"{PAUSES}_count", generation="2") >= 1  # drained while running
    watch.stop()
    await task
    assert watch.stopping
    assert watch._callback not in gc.callbacks


def test_settle_heap_keeps_what_lives_now_out_of_later_collections(unfrozen):
    class Kept:
        pass

    kept = Kept()
    assert gc.is_tracked(kept)
    frozen = settle_heap()
    assert frozen > 0  # (what other threads free meanwhile leaves the count)
    assert gc.get_freeze_count() > 0
    assert not any(obj is kept for obj in gc.get_objects(generation=2))
    later = Kept()
    assert any(obj is later for obj in gc.get_objects())  # what comes later is collected

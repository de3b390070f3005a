"""The controller's background work: expected store errors are retried, a bug is not swallowed
(the sweeper's run ends, a dying claim runner answers its callers and reports itself)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from vmafx.controller.claims import ClaimBatcher
from vmafx.controller.renewals import RenewalBatcher
from vmafx.controller.sweeper import Sweeper
from vmafx.errors import UnavailableError
from vmafx.store.port import ClaimOutcome, ClaimRequest, RenewalOutcome, RenewalRequest
from vmafx.supervision import Supervisor, TaskDiedError

pytestmark = pytest.mark.anyio

WAIT_S = 5.0


class ScriptedService:
    """What the sweeper calls; `expire_once` raises each of `errors` in turn, then succeeds."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.sweeps = 0
        self.nodes_changed = asyncio.Event()

    async def expire_once(self) -> list[Any]:
        self.sweeps += 1
        if self.errors:
            raise self.errors.pop(0)
        return []

    async def refresh_pending_reasons(self) -> list[Any]:
        return []


async def test_the_sweeper_retries_store_errors_and_goes_on_sweeping():
    service = ScriptedService(UnavailableError("job store is unavailable: connection refused"))
    sweeper = Sweeper(service, interval_s=0.001)  # type: ignore[arg-type]
    running = asyncio.ensure_future(sweeper.run())
    for _ in range(1000):
        if service.sweeps >= 3:
            break
        await asyncio.sleep(0.001)
    sweeper.stop()
    await asyncio.wait_for(running, WAIT_S)
    assert service.sweeps >= 3


async def test_a_bug_in_a_sweep_ends_the_sweeper_so_the_controller_stops():
    service = ScriptedService(RuntimeError("a bug in expire"))
    sweeper = Sweeper(service, interval_s=0.001)  # type: ignore[arg-type]
    supervisor = Supervisor("controller")
    task = supervisor.watch(asyncio.ensure_future(sweeper.run()), "sweeper")
    with pytest.raises(RuntimeError, match="a bug in expire"):
        await asyncio.wait_for(task, WAIT_S)
    assert isinstance(supervisor.failure, TaskDiedError)
    assert "background task 'sweeper' died (RuntimeError: a bug in expire)" in str(
        supervisor.failure
    )


class ShortStore:
    """A store whose batches answer no outcome at all (a bug a batcher cannot mend)."""

    async def claim_batch(
        self, requests: Sequence[ClaimRequest], *, now: datetime
    ) -> list[ClaimOutcome]:
        return []

    async def renew_batch(
        self, requests: Sequence[RenewalRequest], *, now: datetime
    ) -> list[RenewalOutcome]:
        return []


@pytest.mark.parametrize(
    ("batcher_type", "ask"),
    [
        (ClaimBatcher, lambda batcher, node: batcher.claim(ClaimRequest(node))),
        (RenewalBatcher, lambda batcher, node: batcher.renew(node)),
    ],
)
async def test_a_batch_runner_that_dies_answers_every_caller_and_is_reported(
    farm, batcher_type, ask
):
    supervisor = Supervisor("controller")
    batcher = batcher_type(ShortStore(), farm.clock)
    batcher.supervisor = supervisor
    asks = [ask(batcher, f"node-{i}") for i in range(3)]
    answers = await asyncio.wait_for(asyncio.gather(*asks, return_exceptions=True), WAIT_S)
    assert all(isinstance(answer, ValueError) for answer in answers)
    await asyncio.wait_for(supervisor.died(), WAIT_S)
    assert f"background task '{batcher.name}' died (ValueError" in str(supervisor.failure)

"""Crosstalk between controller replicas (issue 15 item 1), without PostgreSQL: two services on one
in-memory store (two replicas of one database), joined by a loopback feed that carries each
notice through `Notice.encode`/`decode` as LISTEN/NOTIFY would. The replicas re-read the store
only every 60 s here, so whatever a puller gets within its wait came from a notice.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from vmafx.controller.crosstalk import Crosstalk
from vmafx.controller.inputs import InputPolicy
from vmafx.controller.service import ControllerService, ServiceSettings
from vmafx.controller.work import Wake, WorkSignal
from vmafx.core.jobs import JobState
from vmafx.errors import UnavailableError
from vmafx.store.sql.notify import MAX_PAYLOAD, Notice, split_notices

from .conftest import Farm

pytestmark = pytest.mark.anyio


class LoopbackFeed:
    """A feed whose notices reach every other feed of the same `wire` at once."""

    def __init__(self, wire: list[LoopbackFeed], origin: str) -> None:
        self.wire = wire
        self.origin = origin
        self.connected = True
        self.dropped = self.reconnects = 0
        self.sent: list[Notice] = []
        self._heard: Callable[[Any], None] | None = None
        self.reconnected: Callable[[], None] | None = None
        wire.append(self)

    def send(
        self,
        *,
        work: int = 0,
        queue: str | None = None,
        job_ids: tuple[str, ...] = (),
        nodes_changed: bool = False,
        drained: tuple[str, ...] = (),
    ) -> None:
        counts = {queue or "": work} if work else {}
        for notice in split_notices(self.origin, counts, list(job_ids), nodes_changed, drained):
            self.sent.append(notice)
            payload = notice.encode()
            for other in self.wire:
                if other is not self and other._heard is not None:
                    heard = Notice.decode(payload)
                    assert heard is not None
                    other._heard(heard)

    async def start(
        self, heard: Callable[[Any], None], reconnected: Callable[[], None], *, wait_s: float = 5
    ) -> None:
        self._heard, self.reconnected = heard, reconnected

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        return []

    async def close(self) -> None:
        self._heard = None


class Replicas:
    """Replica A is the conftest's farm; B is a second service on the same store."""

    def __init__(self, a: Farm) -> None:
        self.a = a
        self.b = ControllerService(
            a.store,
            clock=a.clock,
            scheduler=a.scheduler,
            inputs=InputPolicy([a.root]),
            settings=ServiceSettings(repoll_s=60.0),
        )
        a.service.settings = ServiceSettings(repoll_s=60.0)
        wire: list[LoopbackFeed] = []
        self.feeds = [LoopbackFeed(wire, "replica-a"), LoopbackFeed(wire, "replica-b")]
        self.talk = [Crosstalk(a.service, self.feeds[0]), Crosstalk(self.b, self.feeds[1])]

    async def start(self) -> None:
        for talk in self.talk:
            await talk.start()

    async def close(self) -> None:
        for talk in self.talk:
            await talk.close()

    async def pull_on_b(self, session: Any, wait_s: float = 5.0) -> str | None:
        claim = await self.b.pull_work(
            self.a.node, session.node_id, session.session_token, wait_s=wait_s
        )
        return claim.job.id if claim else None


@pytest.fixture
async def replicas(farm: Farm) -> Any:
    made = Replicas(farm)
    await made.start()
    yield made
    await made.close()


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


async def test_work_submitted_on_a_wakes_as_many_pullers_on_b(replicas):
    first, second = await replicas.a.register("n1"), await replicas.a.register("n2")
    pulls = [asyncio.create_task(replicas.pull_on_b(s)) for s in (first, second)]
    await until(lambda: replicas.b.work.waiting == 2, "both pullers wait on B")
    job_id = await replicas.a.submit()
    done, waiting = await asyncio.wait(pulls, timeout=2, return_when=asyncio.FIRST_COMPLETED)
    assert [task.result() for task in done] == [job_id]
    await asyncio.sleep(0.1)
    # One job, one puller woken: the other one still waits.
    assert replicas.b.work.waiting == 1 and len(waiting) == 1
    for task in waiting:
        task.cancel()
    assert [notice.work for notice in replicas.feeds[0].sent if notice.work] == [(("score", 1),)]


async def test_watchers_on_b_get_the_jobs_a_changed_read_from_the_store(replicas):
    seen: list[Any] = []

    async def watch() -> None:
        async for job in replicas.b.watch_jobs(replicas.a.reader):
            seen.append(job)
            if job.state is JobState.CANCELLED:
                return

    watcher = asyncio.create_task(watch())
    await until(lambda: replicas.b.bus.subscribers == 1, "the watcher subscribes on B")
    job_id = await replicas.a.submit()
    await replicas.a.service.cancel_job(replicas.a.writer, job_id)
    await asyncio.wait_for(watcher, 5)
    assert [(job.id, job.state) for job in seen][-1] == (job_id, JobState.CANCELLED)
    assert replicas.talk[1].fetched >= 1
    assert replicas.talk[0].fetched == 0, "A has no watcher: it reads nothing it hears of"


async def test_changes_heard_from_another_replica_are_not_sent_back(replicas):
    await replicas.a.submit()
    sent_by_b = len(replicas.feeds[1].sent)
    await replicas.a.submit()
    assert len(replicas.feeds[1].sent) == sent_by_b == 0
    assert len(replicas.feeds[0].sent) == 4  # per submit: the job changed, one puller to wake


async def test_a_drain_on_a_reaches_b_where_the_node_heartbeats(replicas):
    session = await replicas.a.register("n1")
    await replicas.a.service.drain_node(replicas.a.admin, session.node_id)
    assert replicas.b.sessions.drain_requested(session.node_id)
    answer = await replicas.b.heartbeat(replicas.a.node, session.node_id, session.session_token)
    assert answer.drain
    assert replicas.b.nodes_changed.is_set()


async def test_a_resume_on_b_reaches_a_which_heard_the_drain(replicas):
    session = await replicas.a.register("n1")
    await replicas.a.service.drain_node(replicas.a.admin, session.node_id)
    assert replicas.b.sessions.drain_requested(session.node_id)
    result = await replicas.b.resume_node(replicas.a.admin, session.node_id)
    assert result.was_drained
    assert not replicas.a.service.sessions.drain_requested(session.node_id)
    service = replicas.a.service
    answer = await service.heartbeat(replicas.a.node, session.node_id, session.session_token)
    assert not answer.drain


async def test_a_reconnected_feed_wakes_every_waiting_puller(replicas):
    sessions = [await replicas.a.register(f"n{i}") for i in range(3)]
    pulls = [asyncio.create_task(replicas.pull_on_b(s, wait_s=30)) for s in sessions]
    await until(lambda: replicas.b.work.waiting == 3, "three pullers wait on B")
    replicas.feeds[1].reconnected()  # notices may have been lost: everyone re-reads
    await until(lambda: replicas.b.work.waiting == 0, "every puller woke and re-read")
    await until(lambda: replicas.b.work.waiting == 3, "and went back to waiting")
    for task in pulls:
        task.cancel()


async def test_ready_only_while_the_feed_listens(replicas):
    await replicas.b.check_ready()
    replicas.feeds[1].connected = False
    with pytest.raises(UnavailableError, match="LISTEN connection is down"):
        await replicas.b.check_ready()
    await replicas.a.service.check_ready()  # the other replica's feed is fine


async def test_a_relayed_wake_up_owes_no_pass_on_and_is_not_relayed_again():
    signal, relayed = WorkSignal(), []
    signal.relay = lambda count, queue: relayed.append((count, queue))
    for relay, how in ((False, Wake.RELAYED), (True, Wake.NOTIFIED)):
        waiter = asyncio.create_task(signal.wait(signal.version, 5))
        await until(lambda: signal.waiting == 1, "the waiter waits")
        signal.notify(1, relay=relay, queue="score")
        assert await waiter is how
    signal.notify()  # wake everyone (shutdown): never relayed
    assert relayed == [(1, "score")]


async def test_work_of_a_queue_wakes_that_queues_pullers_only_in_their_order():
    signal = WorkSignal()
    waiters = {
        name: asyncio.create_task(signal.wait(signal.version, 5, queues))
        for name, queues in (
            ("encode", ["encode"]),
            ("any", None),
            ("score-1", ["score", "thumbnail"]),
            ("score-2", ["score"]),
        )
    }
    await until(lambda: signal.waiting == 4, "four pullers wait")
    signal.notify(2, queue="score")  # the longest-waiting pullers that take score
    await until(lambda: sum(task.done() for task in waiters.values()) == 2, "two woke")
    assert {name for name, task in waiters.items() if task.done()} == {"any", "score-1"}
    signal.notify(1, queue="thumbnail")  # nobody left takes it: nobody woken
    await asyncio.sleep(0.05)
    assert signal.waiting == 2
    signal.notify(1)  # any queue: the longest waiter
    await until(waiters["encode"].done, "the encode puller woke")
    assert not waiters["score-2"].done()
    waiters["score-2"].cancel()


async def test_a_job_for_another_pool_on_a_wakes_that_pools_puller_on_b(replicas):
    farm = replicas.a
    gpu = await farm.register("gpu-1")
    cpu = await farm.register("cpu-1")

    async def pull_on_b(session: Any, queues: list[str]) -> str | None:
        claim = await replicas.b.pull_work(
            farm.node, session.node_id, session.session_token, queues=queues, wait_s=5
        )
        return claim.job.id if claim else None

    cpu_pull = asyncio.create_task(pull_on_b(cpu, ["score"]))  # waits longest
    await until(lambda: replicas.b.work.waiting == 1, "the cpu puller waits on B")
    gpu_pull = asyncio.create_task(pull_on_b(gpu, ["encode-gpu"]))
    await until(lambda: replicas.b.work.waiting == 2, "both pullers wait on B")
    job_id = await farm.submit(queue="encode-gpu")
    assert await asyncio.wait_for(gpu_pull, 2) == job_id  # well before the 60 s re-poll
    assert not cpu_pull.done()
    cpu_pull.cancel()


# --- notices ---------------------------------------------------------------------------------
def test_a_notice_survives_its_payload_and_foreign_payloads_are_ignored():
    notice = Notice("abc", (("score", 3), ("", 1)), ("j1", "j2"), True, ("n1",))
    assert Notice.decode(notice.encode()) == notice
    assert Notice.decode(Notice("abc").encode()) == Notice("abc")
    for foreign in ("", "hello", "[]", '{"w": 1}', '{"o": "x", "w": -1}', '{"o": "x", "j": [1]}'):
        assert Notice.decode(foreign) is None


def test_many_ids_split_into_payloads_under_the_limit_with_counts_on_the_first():
    ids = [str(uuid.uuid4()) for _ in range(1000)]
    drained = tuple(f"node-{i}" for i in range(70))
    notices = split_notices("origin", {"score": 7}, ids, True, drained)
    assert len(notices) > 1
    assert all(len(n.encode().encode()) <= MAX_PAYLOAD for n in notices)
    assert [job_id for n in notices for job_id in n.job_ids] == ids
    assert [n.work for n in notices] == [(("score", 7),)] + [()] * (len(notices) - 1)
    assert [n.nodes_changed for n in notices].count(True) == 1
    assert [node for n in notices for node in n.drained] == list(drained)
    assert json.loads(notices[0].encode())["o"] == "origin"


def test_nothing_to_say_is_one_empty_notice():
    assert split_notices("o", {}, [], False) == [Notice("o")]
    assert Notice.decode('{"o": "x", "w": 2}') == Notice("x", (("", 2),))  # an older replica


def test_drains_and_resumes_queued_together_keep_their_order():
    from vmafx.store.sql.notify import PgChangeFeed

    feed = PgChangeFeed("postgresql://nobody@127.0.0.1:1/none", origin="o")
    for change in ("n1", "-n1", "n1"):  # drained, resumed, drained again: drained in the end
        feed.send(drained=(change,))
    (notice,) = split_notices("o", {}, [], False, tuple(feed._drained))
    assert Notice.decode(notice.encode()).drained == ("n1", "-n1", "n1")

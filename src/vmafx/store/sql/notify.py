"""Change notices between controller replicas on one PostgreSQL: `LISTEN/NOTIFY`.

A replica that changes jobs tells the others on channel `vmafx_changes`: which jobs changed
(ids only), how many pullers to wake, whether nodes came or went, which nodes an operator
asked to drain. Payloads never hold specs,
results, tenants' data or secrets: a replica that hears of a change reads the job from the
store itself. PostgreSQL delivers a NOTIFY only after its transaction commits, to every session
that LISTENs on the channel (the sender's own too: each notice names its origin, and a replica
drops its own).

`PgChangeFeed` keeps two connections of its own (psycopg 3, async, autocommit), outside the
store's SQLAlchemy pool: one LISTENs (reconnected with a pause when it drops, checked with a
`SELECT 1` every `health_s` while quiet, so a silent network loss is noticed); one sends. Notices
to send are merged while the previous send is in flight (group sending) and split so that no
payload passes PostgreSQL's 8,000-byte limit. A notice that cannot be sent is dropped and
counted: pullers re-poll the store anyway, so a lost notice costs latency, never a job.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import json
import logging
from collections.abc import Callable, Mapping

import psycopg

from vmafx.store.sql.engine import parse_store_url, redacted

log = logging.getLogger(__name__)

CHANNEL = "vmafx_changes"
#: Payload bytes per NOTIFY, under PostgreSQL's limit of 8,000.
MAX_PAYLOAD = 7_500
APPLICATION_NAME = "vmafx-controller-feed"


@dataclasses.dataclass(frozen=True, slots=True)
class Notice:
    """What one replica tells the others: ids and counts only."""

    origin: str
    #: Pullers to wake per queue ("": pullers of any queue).
    work: tuple[tuple[str, int], ...] = ()
    job_ids: tuple[str, ...] = ()
    nodes_changed: bool = False
    #: An operator's drains ("NODE_ID") and resumes ("-NODE_ID") of node sessions, in order.
    drained: tuple[str, ...] = ()

    def encode(self) -> str:
        body: dict[str, object] = {"o": self.origin}
        if self.work:
            body["w"] = dict(self.work)
        if self.job_ids:
            body["j"] = list(self.job_ids)
        if self.nodes_changed:
            body["n"] = 1
        if self.drained:
            body["d"] = list(self.drained)
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def decode(cls, payload: str) -> Notice | None:
        """The notice in `payload`, or None (logged) for one vmafx did not write."""
        try:
            body = json.loads(payload)
            origin, work = body["o"], body.get("w", {})
            job_ids, drained = body.get("j", []), body.get("d", [])
            if not isinstance(origin, str):
                raise ValueError("bad origin")
            if isinstance(work, int) and not isinstance(work, bool):
                work = {"": work}  # an older replica's plain count: pullers of any queue
            if not isinstance(work, dict) or not all(
                isinstance(q, str) and isinstance(n, int) and n >= 0 for q, n in work.items()
            ):
                raise ValueError("bad work counts")
            for ids in (job_ids, drained):
                if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                    raise ValueError("bad ids")
            counts = tuple((q, n) for q, n in work.items() if n)
            return cls(origin, counts, tuple(job_ids), bool(body.get("n")), tuple(drained))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            log.warning("ignored a notice on %s that vmafx did not write: %s", CHANNEL, error)
            return None


def split_notices(
    origin: str,
    work: Mapping[str, int],
    job_ids: list[str],
    nodes_changed: bool,
    drained: tuple[str, ...] = (),
) -> list[Notice]:
    """Notices carrying all of it, each payload under MAX_PAYLOAD bytes (drain requests are
    few: up to 64 ride on the first, the rest on notices of their own)."""
    head, rest = drained[:64], drained[64:]
    per_id = max((len(job_id) + 3 for job_id in job_ids), default=1)
    used = 64 + len(origin) + sum(len(node) + 3 for node in head)
    used += sum(len(queue) + 16 for queue in work)
    room = max(1, (MAX_PAYLOAD - used) // per_id)
    chunks = [tuple(job_ids[i : i + room]) for i in range(0, len(job_ids), room)] or [()]
    notices = [Notice(origin, job_ids=chunk) for chunk in chunks]
    counts = tuple((queue, count) for queue, count in work.items() if count)
    notices[0] = Notice(origin, counts, notices[0].job_ids, nodes_changed, head)
    if rest:
        notices += split_notices(origin, {}, [], False, rest)
    return notices


def conninfo_for(url: str) -> str:
    """A libpq URI for psycopg from a vmafx store URL (`postgresql[+psycopg]://…`)."""
    parsed = parse_store_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class PgChangeFeed:
    """Send and hear notices on one PostgreSQL database (see the module doc)."""

    def __init__(
        self, url: str, *, origin: str, reconnect_s: float = 1.0, health_s: float = 5.0
    ) -> None:
        self.origin = origin
        self._conninfo = conninfo_for(url)
        self._where = redacted(parse_store_url(url))
        self._reconnect_s = reconnect_s
        self._health_s = health_s
        #: Whether the LISTEN connection is up (`/readyz` asks).
        self.connected = False
        #: Notices that could not be sent (the database away); pullers re-poll instead.
        self.dropped = 0
        #: How many times the LISTEN connection came back after dropping.
        self.reconnects = 0
        self._work: collections.Counter[str] = collections.Counter()
        self._job_ids: dict[str, None] = {}
        self._nodes_changed = False
        self._drained: list[str] = []
        self._outbox = asyncio.Event()
        self._closing = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sender: psycopg.AsyncConnection[object] | None = None

    # --- sending --------------------------------------------------------------------------------
    def send(
        self,
        *,
        work: int = 0,
        queue: str | None = None,
        job_ids: tuple[str, ...] = (),
        nodes_changed: bool = False,
        drained: tuple[str, ...] = (),
    ) -> None:
        """Queue a notice (merged with others queued meanwhile); never blocks. `work` pullers
        of `queue` (None: of any queue) are to be woken."""
        if work:
            self._work[queue or ""] += work
        self._job_ids.update(dict.fromkeys(job_ids))
        self._nodes_changed = self._nodes_changed or nodes_changed
        self._drained += drained
        self._outbox.set()

    async def _send_loop(self) -> None:
        while not self._closing.is_set():
            await self._outbox.wait()
            self._outbox.clear()
            work, job_ids, nodes = dict(self._work), list(self._job_ids), self._nodes_changed
            drained = tuple(self._drained)
            self._work, self._job_ids = collections.Counter(), {}
            self._nodes_changed, self._drained = False, []
            if not (work or job_ids or nodes or drained):
                continue
            notices = split_notices(self.origin, work, job_ids, nodes, drained)
            try:
                connection = await self._sending_connection()
                for notice in notices:
                    await connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, notice.encode()))
            except (psycopg.Error, OSError) as error:
                self.dropped += len(notices)
                log.warning("change notice not sent to other replicas: %s", error)
                await self._drop_sender()
                with contextlib.suppress(TimeoutError):  # pause, but stop at once on close
                    await asyncio.wait_for(self._closing.wait(), self._reconnect_s)

    async def _sending_connection(self) -> psycopg.AsyncConnection[object]:
        if self._sender is None or self._sender.closed:
            self._sender = await self._connect()
        return self._sender

    async def _drop_sender(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await sender.close()

    async def _connect(self) -> psycopg.AsyncConnection[object]:
        connection: psycopg.AsyncConnection[object] = await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=5,
            application_name=APPLICATION_NAME,
        )
        return connection

    # --- hearing ------------------------------------------------------------------------------
    async def _listen_loop(
        self, heard: Callable[[Notice], None], reconnected: Callable[[], None]
    ) -> None:
        ever_connected = False
        while not self._closing.is_set():
            try:
                async with await self._connect() as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.connected = True
                    if ever_connected:
                        self.reconnects += 1
                        log.info("listening for other replicas' changes again")
                        reconnected()  # notices sent while away are lost: let waiters re-read
                    else:
                        log.info("listening for other replicas' changes on %s", self._where)
                    ever_connected = True
                    await self._hear(connection, heard)
            except (psycopg.Error, OSError) as error:
                if self._closing.is_set():
                    break
                log.warning(
                    "the LISTEN connection to %s is down, retried in %g s: %s",
                    self._where,
                    self._reconnect_s,
                    error,
                )
            finally:
                self.connected = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self._reconnect_s)

    async def _hear(
        self, connection: psycopg.AsyncConnection[object], heard: Callable[[Notice], None]
    ) -> None:
        while not self._closing.is_set():
            async for message in connection.notifies(timeout=self._health_s):
                notice = Notice.decode(message.payload)
                if notice is not None and notice.origin != self.origin:
                    heard(notice)
                if self._closing.is_set():
                    return
            await connection.execute("SELECT 1")  # quiet for a while: is the server still there?

    # --- life -----------------------------------------------------------------------------------
    async def start(
        self,
        heard: Callable[[Notice], None],
        reconnected: Callable[[], None],
        *,
        wait_s: float = 5.0,
    ) -> None:
        """Start listening and sending; waits up to `wait_s` for the LISTEN to be in place (a
        database that is away only delays readiness: the feed keeps trying)."""
        self._tasks = [
            asyncio.create_task(self._listen_loop(heard, reconnected), name="vmafx-feed-listen"),
            asyncio.create_task(self._send_loop(), name="vmafx-feed-send"),
        ]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while not self.connected and loop.time() < deadline:
            await asyncio.sleep(0.02)

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        return list(self._tasks)

    async def close(self) -> None:
        self._closing.set()
        self._outbox.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, psycopg.Error, OSError):
                await task
        await self._drop_sender()
        self.connected = False

"""The controller's composition root: settings in, a running controller out.

`run(settings)` is what `vmafx controller` calls: it checks the settings (auth may be off only
on loopback), opens the store (SQLite in the state folder by default, migrated on start;
PostgreSQL must be migrated with `vmafx controller migrate`), builds the service and serves
gRPC (and HTTP once `vmafx.controller.http.app` exists) until SIGTERM or SIGINT. Shutdown:
long-polls and streams end, no new calls are accepted, calls in flight get `grace_s` to
finish, the sweeper stops, the store closes; the exit status is 0. A background task that dies
(the sweeper, the HTTP server, a claim batch) stops the controller the same way, after a
CRITICAL log line naming it, and the exit status is 1 (`vmafx.supervision`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import importlib
import logging
import os
import signal
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry

from vmafx.config import state_dir
from vmafx.controller.auth import Authenticator, check_auth_config, split_listen
from vmafx.controller.crosstalk import Crosstalk, new_origin
from vmafx.controller.gcwatch import GcWatch, settle_heap
from vmafx.controller.grpc import GrpcServer, start_grpc_server
from vmafx.controller.inputs import InputPolicy
from vmafx.controller.looplag import LoopWatch
from vmafx.controller.metrics import ControllerMetrics, MetricsExporter, ReplicaFigures
from vmafx.controller.oidc import oidc_verifier
from vmafx.controller.service import ControllerService, ServiceSettings
from vmafx.controller.settings import ControllerSettings
from vmafx.controller.storage import StorageAccess
from vmafx.controller.sweeper import Retention, Sweeper
from vmafx.controller.tls import ServerTls, load_server_tls
from vmafx.controller.tuning import Tuner, history_at
from vmafx.core.clock import Clock, SystemClock
from vmafx.errors import ConfigError, UnavailableError
from vmafx.scheduler import LeaseSettings, Scheduler
from vmafx.store import JobStore, open_job_store
from vmafx.supervision import Supervisor

if TYPE_CHECKING:
    from vmafx.store.sql.owner import SqliteOwnerLock

log = logging.getLogger(__name__)
STORE_FILE = "controller.db"
STORE_THREADS = 32


def default_store_url(env: Mapping[str, str] | None = None) -> str:
    """SQLite in the user's state folder (never the working directory)."""
    return f"sqlite:///{state_dir(env) / STORE_FILE}"


def store_url(settings: ControllerSettings) -> str:
    return settings.store_url or default_store_url()


def prepare_store(url: str) -> None:
    """SQLite: create its folder and apply migrations. Others: refuse an out-of-date schema."""
    from vmafx.store.sql.migrate import current_revision_is_head, upgrade  # noqa: PLC0415

    if url.startswith("memory:"):
        return
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        upgrade(url)
        return
    if not current_revision_is_head(url):
        raise UnavailableError(
            "the job store's schema is not the one this vmafx needs.",
            hint="Run `vmafx controller migrate --store URL` first.",
        )


def scheduler_for(settings: ControllerSettings) -> Scheduler:
    return Scheduler(
        LeaseSettings(
            lease_ttl=timedelta(seconds=settings.lease_ttl_s),
            session_ttl=timedelta(seconds=settings.session_ttl_s),
            backoff_base=timedelta(seconds=settings.backoff_base_s),
            backoff_max=timedelta(seconds=settings.backoff_max_s),
        )
    )


@dataclasses.dataclass
class RunningController:
    """Everything a running controller owns, in the order it is stopped."""

    service: ControllerService
    store: JobStore
    grpc: GrpcServer
    http: Any | None
    sweeper: Sweeper
    sweeping: asyncio.Task[None]
    supervisor: Supervisor = dataclasses.field(default_factory=lambda: Supervisor("controller"))
    tuner: Tuner | None = None
    tuning: asyncio.Task[None] | None = None
    #: Wake-ups to and from the other replicas (PostgreSQL only).
    crosstalk: Crosstalk | None = None
    #: How late the event loop runs due timers (metrics, a log line when it was held).
    loop_watch: LoopWatch | None = None
    watching: asyncio.Task[None] | None = None
    #: How long garbage collections hold the interpreter (metrics, a log line when long).
    gc_watch: GcWatch | None = None
    gc_watching: asyncio.Task[None] | None = None

    async def stop(self, grace_s: float) -> None:
        await self.service.close()
        stops = [self.grpc.stop(grace_s)]
        if self.http is not None and not self.http.task.done():  # a dead one: the supervisor's
            stops.append(self.http.stop())
        await asyncio.gather(*stops)
        self.sweeper.stop()
        if self.tuner is not None and self.tuning is not None:
            self.tuner.stop()
            await asyncio.wait({self.tuning})
        await asyncio.wait({self.sweeping})  # how it ended is the supervisor's business
        if self.loop_watch is not None and self.watching is not None:
            self.loop_watch.stop()
            await asyncio.wait({self.watching})
        if self.gc_watch is not None and self.gc_watching is not None:
            self.gc_watch.stop()
            await asyncio.wait({self.gc_watching})
        if self.crosstalk is not None:
            await self.crosstalk.close()
        await self.store.close()


async def start(settings: ControllerSettings, *, clock: Clock | None = None) -> RunningController:
    """Build and start every part; raises ConfigError before binding anything when unsafe."""
    check_auth_config(settings.auth_disabled, [settings.grpc_listen, settings.http_listen])
    tls = load_server_tls(settings.tls_cert, settings.tls_key)
    oidc = oidc_verifier(settings)
    # The SQL store runs each transaction in a worker thread; asyncio's default pool (6 threads
    # on 2 cores) would cap concurrent claims well below what PostgreSQL can take.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=STORE_THREADS, thread_name_prefix="vmafx-store")
    )
    url = store_url(settings)
    await asyncio.to_thread(prepare_store, url)
    clock = clock or SystemClock()
    scheduler = scheduler_for(settings)
    store = open_job_store(url, scheduler)
    registry = CollectorRegistry()
    storage = StorageAccess.from_config(
        settings.storage_dir, os.environ, ttl_s=settings.storage_url_ttl_s
    )
    inputs = InputPolicy(settings.scoring_roots, storage=storage)
    service = ControllerService(
        store,
        clock=clock,
        scheduler=scheduler,
        inputs=inputs,
        settings=ServiceSettings(
            heartbeat_interval_s=settings.heartbeat_interval_s,
            max_heartbeats_per_s=settings.max_heartbeats_per_s,
            max_registrations_per_s=settings.max_registrations_per_s,
            max_wait_s=settings.max_wait_ms / 1000,
            repoll_s=settings.repoll_s,
        ),
        metrics=ControllerMetrics(registry),
    )
    supervisor = Supervisor("controller")
    crosstalk = await _start_crosstalk(service, url, supervisor)
    auth = Authenticator(store, clock, disabled=settings.auth_disabled, oidc=oidc)
    if not settings.scoring_roots:
        log.warning("no --scoring-root: every local input path will be refused")
    grpc = await start_grpc_server(
        service, auth, settings.grpc_listen, max_message_bytes=settings.max_message_bytes, tls=tls
    )
    exporter = MetricsExporter(registry, store, clock, gpu_samples=service.sessions.gpu_samples)
    http = await _start_http(service, auth, exporter, settings, tls)
    sweeper = Sweeper(
        service,
        interval_s=settings.sweep_interval_s,
        pending_refresh_s=settings.pending_refresh_s,
        lock=store.try_sweep_lock,
        retention=Retention(days=settings.retention_days),
        metrics=service.metrics,
    )
    exporter.replica = lambda: ReplicaFigures(
        sweeping=sweeper.sweeping,
        feed_connected=crosstalk.connected if crosstalk else True,
        notices_heard=crosstalk.heard if crosstalk else 0,
        notices_dropped=crosstalk.dropped if crosstalk else 0,
        feed_reconnects=crosstalk.reconnects if crosstalk else 0,
        jobs_pruned=sweeper.pruned,
    )
    service.claims.supervisor = supervisor
    service.renewals.supervisor = supervisor
    sweeping = supervisor.watch(
        asyncio.create_task(sweeper.run(), name="vmafx-sweeper"),
        "sweeper",
        finishing=sweeper.stopping,
    )
    if http is not None:
        supervisor.watch(http.task, "HTTP server", finishing=lambda: http.server.should_exit)
    tuner = Tuner(
        service,
        history=history_at(url),
        interval_s=min(1.0, settings.sweep_interval_s),
        lock=store.try_sweep_lock,
    )
    tuning = supervisor.watch(
        asyncio.create_task(tuner.run(), name="vmafx-tuner"), "tuner", finishing=tuner.stopping
    )
    loop_watch = LoopWatch(service.metrics.loop_lag)
    watching = supervisor.watch(
        asyncio.create_task(loop_watch.run(), name="vmafx-loop-watch"),
        "event-loop watch",
        finishing=lambda: loop_watch.stopping,
    )
    gc_watch = GcWatch(service.metrics.gc_pause)
    gc_watching = supervisor.watch(
        asyncio.create_task(gc_watch.run(), name="vmafx-gc-watch"),
        "garbage-collection watch",
        finishing=lambda: gc_watch.stopping,
    )
    return RunningController(
        service, store, grpc, http, sweeper, sweeping, supervisor, tuner, tuning, crosstalk,
        loop_watch, watching, gc_watch, gc_watching,
    )  # fmt: skip


async def _start_crosstalk(
    service: ControllerService, url: str, supervisor: Supervisor
) -> Crosstalk | None:
    """PostgreSQL: join the other replicas' wake-ups (LISTEN/NOTIFY). Other stores: None."""
    if not url.startswith(("postgresql:", "postgresql+psycopg:", "postgres:")):
        return None
    from vmafx.store.sql.notify import PgChangeFeed  # noqa: PLC0415

    crosstalk = Crosstalk(service, PgChangeFeed(url, origin=new_origin()))
    for task in await crosstalk.start():
        supervisor.watch(task, "replica feed", finishing=lambda: crosstalk.closing)
    return crosstalk


# --- the HTTP hook ------------------------------------------------------------------------------
# The HTTP layer lives in `vmafx.controller.http` and provides
#
#     build_http_app(*, service: ControllerService, auth: Authenticator,
#                    metrics: MetricsExporter, settings: ControllerSettings) -> ASGI app
#
# in `vmafx/controller/http/app.py`. Until that module exists, the controller serves gRPC only.
HTTP_APP_MODULE = "vmafx.controller.http.app"


def load_http_app(
    service: ControllerService,
    auth: Authenticator,
    exporter: MetricsExporter,
    settings: ControllerSettings,
) -> Any | None:
    try:
        module = importlib.import_module(HTTP_APP_MODULE)
    except ModuleNotFoundError as error:
        if error.name not in (HTTP_APP_MODULE, HTTP_APP_MODULE.rpartition(".")[0]):
            raise
        log.warning("the HTTP API is not built yet; serving gRPC only")
        return None
    return module.build_http_app(service=service, auth=auth, metrics=exporter, settings=settings)


async def _start_http(
    service: ControllerService,
    auth: Authenticator,
    exporter: MetricsExporter,
    settings: ControllerSettings,
    tls: ServerTls | None = None,
) -> Any | None:
    app = load_http_app(service, auth, exporter, settings)
    if app is None:
        return None
    from vmafx.controller.httpserving import start_http_server  # noqa: PLC0415

    return await start_http_server(app, settings.http_listen, tls=tls)


# --- running until a signal ---------------------------------------------------------------------
async def serve(settings: ControllerSettings, *, ready: asyncio.Event | None = None) -> None:
    owner = await asyncio.to_thread(own_sqlite_store, store_url(settings))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        controller = await start(settings)
        # What start-up built (modules, classes, the app) lives as long as the process: out of
        # every later full collection (gcwatch.py). Here, not in start(): a test process that
        # starts many controllers keeps collecting its own garbage.
        frozen = settle_heap()
        host, _ = split_listen(settings.grpc_listen)
        log.info(
            "controller ready",
            extra={"grpc": f"{host}:{controller.grpc.port}", "objects_frozen": frozen},
        )
        print(f"vmafx controller: gRPC on {host}:{controller.grpc.port}", flush=True)
        if ready is not None:
            ready.set()
        await _until_stopped_or_dead(stop, controller.supervisor)
        log.info("stopping: finishing calls in flight")
        await controller.stop(settings.grace_s)
        controller.supervisor.raise_failure()
    finally:
        gc.unfreeze()  # a process that goes on (a test's) collects all of it again
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if owner is not None:
            owner.release()


def own_sqlite_store(url: str) -> SqliteOwnerLock | None:
    """SQLite: take the one-controller lock beside the file (ConfigError when another
    controller holds it). Other stores: None, any number of controllers may serve them."""
    from vmafx.store.sql.owner import SqliteOwnerLock  # noqa: PLC0415

    if not url.startswith("sqlite:///"):
        return None
    database = Path(url.removeprefix("sqlite:///"))
    database.parent.mkdir(parents=True, exist_ok=True)
    return SqliteOwnerLock.acquire(database)


async def _until_stopped_or_dead(stop: asyncio.Event, supervisor: Supervisor) -> None:
    """Until SIGTERM/SIGINT, or until a background task dies."""
    waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(supervisor.died())}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


def run(settings: ControllerSettings) -> int:
    """Serve until SIGTERM/SIGINT; 0 after a clean stop. ConfigError before anything starts;
    TaskDiedError (exit 1) when a background task died."""
    if settings.max_message_bytes < 1024:
        raise ConfigError("max_message_bytes must be at least 1024.")
    asyncio.run(serve(settings))
    return 0


def migrate(url: str) -> str:
    """Apply every migration to the store at `url`; returns the schema revision."""
    from vmafx.store.sql.migrate import upgrade  # noqa: PLC0415

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return upgrade(url).head

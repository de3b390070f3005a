"""Serving an ASGI app (the HTTP API) with uvicorn inside the controller's event loop.

uvicorn's own signal handling is turned off: the controller's composition root owns SIGTERM and
SIGINT and stops HTTP together with gRPC. Given the controller's certificate and key, it serves
HTTPS only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

from vmafx.controller.auth import split_listen
from vmafx.controller.tls import ServerTls

log = logging.getLogger(__name__)


@dataclasses.dataclass
class HttpServer:
    server: Any
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def start_http_server(app: Any, listen: str, *, tls: ServerTls | None = None) -> HttpServer:
    import uvicorn  # noqa: PLC0415 - only when the HTTP layer exists

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    host, port = split_listen(listen)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        ssl_certfile=None if tls is None else str(tls.cert),
        ssl_keyfile=None if tls is None else str(tls.key),
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(), name="vmafx-http")
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if task.done():
        task.result()  # raises why it could not start
    log.info("HTTP listening", extra={"address": listen, "tls": tls is not None})
    return HttpServer(server, task)

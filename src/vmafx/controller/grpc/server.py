"""Starting and stopping the grpc.aio server that serves `ControllerServicer` (over TLS when
given the controller's certificate and key)."""

from __future__ import annotations

import dataclasses
import logging

import grpc

from vmafx.controller.auth import Authenticator, split_listen
from vmafx.controller.grpc.handlers import generic_handler
from vmafx.controller.grpc.servicer import ControllerServicer
from vmafx.controller.service import ControllerService
from vmafx.controller.tls import ServerTls
from vmafx.errors import ConfigError

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


@dataclasses.dataclass
class GrpcServer:
    server: grpc.aio.Server
    port: int

    async def stop(self, grace_s: float) -> None:
        """Refuse new calls, let calls in flight finish for up to `grace_s`, then cancel them."""
        await self.server.stop(grace_s)


async def start_grpc_server(
    service: ControllerService,
    auth: Authenticator,
    listen: str,
    *,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    tls: ServerTls | None = None,
) -> GrpcServer:
    """Serve the controller on `listen` (`HOST:PORT`; port 0 picks a free one), over TLS when
    `tls` is given."""
    host, port = split_listen(listen)
    options = [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]
    server = grpc.aio.server(options=options)
    server.add_generic_rpc_handlers((generic_handler(ControllerServicer(service), auth),))
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        if tls is None:
            bound = server.add_insecure_port(address)
        else:
            credentials = grpc.ssl_server_credentials([(tls.key_pem, tls.cert_pem)])
            bound = server.add_secure_port(address, credentials)
    except RuntimeError as error:
        bound = 0
        log.debug("gRPC bind failed", extra={"error": str(error)})
    if not bound:
        raise ConfigError(
            f"cannot listen for gRPC on {listen}: the address is in use or not local.",
            hint="Pick another --grpc-listen address (port 0 picks a free one).",
        )
    await server.start()
    log.info("gRPC listening", extra={"address": f"{host}:{bound}", "tls": tls is not None})
    return GrpcServer(server=server, port=bound)

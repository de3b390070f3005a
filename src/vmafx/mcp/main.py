"""The composition root of `vmafx mcp`: the farm (if any), the server, and its transport.

- stdio (default): the server acts with its own token; stdout carries only the protocol.
- streamable HTTP (`--http HOST:PORT`, loopback unless told otherwise): every request needs a
  bearer token the controller accepts (`auth.ControllerTokenVerifier`), and DNS-rebinding
  protection allows only Host/Origin headers naming this server (loopback names, the bound
  host, and `--allow-host` names).
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio

from vmafx.client.tls import ControllerAddress
from vmafx.core.addresses import is_loopback
from vmafx.errors import ConfigError
from vmafx.mcp.sdk import require_sdk

if TYPE_CHECKING:
    from vmafx.mcp.farm import Farm

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


@dataclasses.dataclass(frozen=True, kw_only=True)
class McpOptions:
    controller: ControllerAddress | None = None
    token: str | None = dataclasses.field(default=None, repr=False)
    http: str | None = None
    allow_hosts: Sequence[str] = ()
    no_auth: bool = False


def split_http(listen: str) -> tuple[str, int]:
    """`HOST:PORT` (IPv6 as `[::1]:PORT`) as (host, port), or ConfigError."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(
            f"--http {listen!r} is not HOST:PORT.",
            hint="For example --http 127.0.0.1:8765.",
        )
    return host.strip("[]"), int(port)


def check(options: McpOptions) -> None:
    """Refuse combinations that would serve files or the farm to anyone who asks."""
    if options.http is None:
        if options.no_auth:
            raise ConfigError("--no-auth applies to --http only; stdio has no network side.")
        return
    host, _ = split_http(options.http)
    if options.no_auth and not is_loopback(host):
        raise ConfigError(
            f"--no-auth on {host} would let anyone who reaches it use vmafx.",
            hint="Serve on 127.0.0.1, or drop --no-auth (callers then need a farm token).",
        )
    if options.controller is None and not options.no_auth:
        raise ConfigError(
            "over HTTP, `vmafx mcp` checks bearer tokens with the controller, and none is "
            "configured.",
            hint="Pass --controller HOST:PORT (VMAFX_CONTROLLER_ADDR), or on loopback "
            "--no-auth for local scoring only, or use stdio (no --http).",
        )


def serve(options: McpOptions) -> None:
    """Run until stdin closes (stdio) or the process is interrupted (HTTP)."""
    require_sdk()
    check(options)
    anyio.run(_serve, options)


async def _serve(options: McpOptions) -> None:
    from vmafx.mcp.farm import Farm, grpc_connect  # noqa: PLC0415 - after require_sdk
    from vmafx.mcp.tools import build_server  # noqa: PLC0415

    farm = None
    if options.controller is not None:
        farm = Farm(str(options.controller), grpc_connect(options.controller), options.token)
    try:
        if options.http is None:
            await build_server(farm).run_stdio_async()
        else:
            await _serve_http(farm, options)
    finally:
        if farm is not None:
            await farm.close()


def _listen(listen: str) -> socket.socket:
    host, port = split_http(listen)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ConfigError(
            f"cannot listen on {listen}: {error.strerror or error}.",
            hint="Pick another port, e.g. --http 127.0.0.1:0 for any free one.",
        ) from None
    return sock


async def _serve_http(farm: Farm | None, options: McpOptions) -> None:
    import uvicorn  # noqa: PLC0415
    from mcp.server.auth.settings import AuthSettings  # noqa: PLC0415
    from mcp.server.transport_security import TransportSecuritySettings  # noqa: PLC0415

    from vmafx.mcp.auth import ControllerTokenVerifier  # noqa: PLC0415
    from vmafx.mcp.tools import build_server  # noqa: PLC0415

    assert options.http is not None
    host, _ = split_http(options.http)
    sock = _listen(options.http)
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    names = [*LOOPBACK_NAMES, shown, *options.allow_hosts]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{name}:*" for name in names] + list(options.allow_hosts),
        allowed_origins=[f"{scheme}://{name}:*" for name in names for scheme in ("http", "https")],
    )
    if farm is not None and not options.no_auth:
        server = build_server(
            farm,
            token_verifier=ControllerTokenVerifier(farm),
            auth=AuthSettings(issuer_url=f"http://{shown}:{port}", resource_server_url=None),  # type: ignore[arg-type]
        )
    else:
        server = build_server(farm)
    app = server.streamable_http_app(transport_security=security, host=host)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    print(f"vmafx mcp: streamable HTTP on http://{shown}:{port}/mcp", flush=True)  # not stdio
    await uvicorn.Server(config).serve(sockets=[sock])

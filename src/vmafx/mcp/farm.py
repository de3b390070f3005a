"""Reaching the controller from the MCP server: one `ControllerClient` per token.

Over stdio the server acts with its own token (`--token-file`, VMAFX_TOKEN). Over HTTP each
request carries a bearer token, already checked by `auth.ControllerTokenVerifier`; the tool
calls the controller with that same token, so the controller applies its roles and tenants
exactly as for any other client. Clients are cached per token (by digest) and closed at exit.

Errors read like the CLI's: who was tried and how to start one, or which token to pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from vmafx.client.port import ControllerClient
from vmafx.client.tls import ControllerAddress, TlsError
from vmafx.errors import AuthError, ForbiddenError, MissingExtraError, UnavailableError

T = TypeVar("T")
#: Builds a client for a token (None: no token); injected so tests pass a fake.
Connect = Callable[[str | None], ControllerClient]
START_HINT = (
    "Start one with `vmafx controller` (or `vmafx up`), or point `vmafx mcp --controller` "
    "(VMAFX_CONTROLLER_ADDR) at a running one."
)
#: How many per-token clients an HTTP server keeps open.
MAX_CLIENTS = 64


def grpc_connect(address: ControllerAddress) -> Connect:
    """Clients of the controller at `address` over gRPC (grpcio is the `controller` extra)."""
    try:
        from vmafx.client.grpc_client import GrpcControllerClient  # noqa: PLC0415
    except ImportError:
        raise MissingExtraError(
            "talking to a controller needs grpcio, which is not installed.",
            extra="controller",
            command="pip install 'vmafx[controller]'",
        ) from None

    def connect(token: str | None) -> ControllerClient:
        return GrpcControllerClient(address, token=token)

    return connect


class Farm:
    """The configured controller: `where` (for messages) and a client per token."""

    def __init__(self, where: str, connect: Connect, token: str | None = None) -> None:
        self.where = where
        self._connect = connect
        self._token = token
        self._clients: dict[str, ControllerClient] = {}

    def __repr__(self) -> str:
        return f"Farm({self.where!r})"

    async def client(self, bearer: str | None = None) -> ControllerClient:
        """A client acting with `bearer` (an HTTP caller's token) or else the server's own."""
        token = bearer if bearer is not None else self._token
        key = hashlib.sha256((token or "").encode()).hexdigest()
        found = self._clients.get(key)
        if found is None:
            if len(self._clients) >= MAX_CLIENTS:  # the oldest goes, its channel closed
                await self._clients.pop(next(iter(self._clients))).close()
            found = self._clients[key] = self._connect(token)
        return found

    async def call(self, work: Callable[[ControllerClient], Awaitable[T]], bearer: str | None) -> T:
        """Run `work` with a client; unreachable and refused calls say what to do next."""
        try:
            return await work(await self.client(bearer))
        except TlsError:
            raise
        except UnavailableError as error:
            raise UnavailableError(
                f"no working controller answered at {self.where} ({error.message}).",
                hint=START_HINT,
            ) from None
        except ForbiddenError:
            raise
        except AuthError as error:
            fix = (
                "Send a valid token as `Authorization: Bearer <token>`."
                if bearer is not None
                else "Start `vmafx mcp` with --token-file FILE (or VMAFX_TOKEN)."
            )
            raise AuthError(
                f"the controller at {self.where} refused the call: {error.message}",
                hint=f"{fix} An admin creates one with "
                "`vmafx tokens create --role writer --tenant T`.",
            ) from None

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()

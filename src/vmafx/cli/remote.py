"""Reaching a controller from the CLI: `--controller`, `--ca`, the token flags, and the one place
that turns "nobody answered" into a message saying which address was tried and how to start one.

TLS is in the address: `--controller https://farm:9090` dials with TLS, checking the controller's
certificate against `--ca FILE` (VMAFX_CA) or else the system's CAs (`vmafx.client.tls`).

Client commands (`vmafx jobs …`, `vmafx nodes …`) take `Remote.options(...)` values, build a
`Remote`, and run one coroutine with `remote.call(work)`: it opens a `GrpcControllerClient`
(grpcio is imported only then), runs `work(client)` and closes the client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from vmafx.client.diagnose import http_port_error
from vmafx.client.tls import ControllerAddress, TlsError, parse_address
from vmafx.core.token_text import token_from_text
from vmafx.errors import AuthError, ConfigError, ForbiddenError, MissingExtraError, UnavailableError

if TYPE_CHECKING:
    from vmafx.client.port import ControllerClient

T = TypeVar("T")
DEFAULT_CONTROLLER = "127.0.0.1:9090"
START_HINT = (
    "Start one with `vmafx controller` (or `vmafx up` for a controller and a node on this "
    "machine), or point --controller / VMAFX_CONTROLLER_ADDR at a running one."
)


class Format(enum.StrEnum):
    table = "table"
    json = "json"


CONTROLLER = typer.Option(
    DEFAULT_CONTROLLER,
    "--controller",
    envvar="VMAFX_CONTROLLER_ADDR",
    help="The controller's gRPC address HOST:PORT; https://HOST:PORT for TLS.",
)
CA = typer.Option(
    None,
    "--ca",
    envvar="VMAFX_CA",
    help="CA certificate (PEM) to trust for an https:// controller signed by a private CA "
    "[default: the system's CAs].",
)
TOKEN = typer.Option(
    None,
    "--token",
    envvar="VMAFX_TOKEN",
    help="API token (`vmafx tokens create`); --token-file keeps it out of `ps`.",
)
TOKEN_FILE = typer.Option(
    None, "--token-file", envvar="VMAFX_TOKEN_FILE", help="File holding the API token."
)
FORMAT = typer.Option(Format.table, "--format", help="table, or json (the job object).")


def check_target(target: str) -> str:
    """`HOST:PORT`, `https://HOST:PORT` (or a gRPC target URI such as
    `unix:///run/vmafx.sock`), else ConfigError."""
    return str(parse_address(target))


def address_of(controller: str, ca: Path | None) -> ControllerAddress:
    """The parsed `--controller`; `--ca` with a plain-text address is refused (ConfigError).
    Without `--ca` (commands that lack the flag, such as the demo), VMAFX_CA is used for an
    https:// address."""
    if ca is not None:
        return parse_address(controller, ca=ca)
    address = parse_address(controller)
    env = os.environ.get("VMAFX_CA", "").strip()
    return dataclasses.replace(address, ca=Path(env)) if address.tls and env else address


def read_token(token: str | None, token_file: Path | None) -> str | None:
    """The token from --token, else from --token-file (the one token in it, see
    `core.token_text`); None when neither is given."""
    if token:
        return token.strip()
    if token_file is None:
        return None
    try:
        text = token_file.read_text(errors="replace")
    except OSError as error:
        raise ConfigError(
            f"the token file {token_file} cannot be read: {error.strerror or error}.",
            hint="Check the path given to --token-file (or VMAFX_TOKEN_FILE).",
        ) from None
    return token_from_text(text, f"the token file {token_file}")


@dataclasses.dataclass(frozen=True)
class Remote:
    """Where the controller is (`target` is what gRPC dials: HOST:PORT), whether it is TLS,
    and the token to show it (never printed)."""

    target: str
    token: str | None = dataclasses.field(default=None, repr=False)
    address: ControllerAddress | None = None

    @classmethod
    def of(
        cls, controller: str, token: str | None, token_file: Path | None, ca: Path | None = None
    ) -> Remote:
        address = address_of(controller, ca)
        return cls(address.target, read_token(token, token_file), address)

    @property
    def where(self) -> ControllerAddress:
        return self.address or ControllerAddress(self.target)

    def connect(self) -> ControllerClient:
        try:
            from vmafx.client.grpc_client import GrpcControllerClient  # noqa: PLC0415
        except ImportError:
            raise MissingExtraError(
                "talking to a controller needs grpcio, which is not installed.",
                extra="controller",
                command="pip install 'vmafx[controller]'",
            ) from None
        return GrpcControllerClient(self.where, token=self.token)

    def call(self, work: Callable[[ControllerClient], Awaitable[T]]) -> T:
        """Run `work` with a client of this controller; errors say what to do next."""

        async def main() -> T:
            client = self.connect()
            try:
                return await work(client)
            finally:
                await client.close()

        try:
            return asyncio.run(main())
        except UnavailableError as error:
            raise self.unreachable(error) from None
        except AuthError as error:
            if isinstance(error, ForbiddenError):
                raise
            raise AuthError(
                f"the controller at {self.where} refused the call: {error.message}",
                hint="Pass a token with --token-file FILE (or VMAFX_TOKEN); an admin creates "
                "one with `vmafx tokens create --role writer --tenant T`.",
            ) from None

    def unreachable(self, error: UnavailableError) -> UnavailableError:
        """The error to show: a TlsError as it is (it names the fix), the UI's HTTP port given
        for the gRPC one said as such (`client.diagnose`), else who was tried."""
        if isinstance(error, TlsError):
            return error
        http_port = http_port_error(self.where, error.message)
        if http_port is not None:
            return http_port
        return UnavailableError(
            f"no working controller answered at {self.where} ({error.message}).",
            hint=START_HINT,
        )

"""Reaching a controller from the CLI: `--controller`, the token flags, and the one place that
turns "nobody answered" into a message saying which address was tried and how to start one.

Client commands (`vmafx jobs …`, `vmafx nodes …`) take `Remote.options(...)` values, build a
`Remote`, and run one coroutine with `remote.call(work)`: it opens a `GrpcControllerClient`
(grpcio is imported only then), runs `work(client)` and closes the client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

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
    help="The controller's gRPC address HOST:PORT.",
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
    """`HOST:PORT` (or a gRPC target URI such as `unix:///run/vmafx.sock`), else UsageError."""
    if "://" in target or target.startswith("unix:"):
        return target
    host, sep, port = target.rpartition(":")
    if not host or not sep or not port.isdigit() or not 0 < int(port) <= 65535:
        raise ConfigError(
            f"controller address {target!r} is not HOST:PORT.",
            hint=f"For example --controller {DEFAULT_CONTROLLER} or farm.example:9090.",
        )
    return target


def read_token(token: str | None, token_file: Path | None) -> str | None:
    """The token from --token, else from --token-file; None when neither is given."""
    if token:
        return token.strip()
    if token_file is None:
        return None
    try:
        text = token_file.read_text().strip()
    except OSError as error:
        raise ConfigError(
            f"the token file {token_file} cannot be read: {error.strerror or error}.",
            hint="Check the path given to --token-file (or VMAFX_TOKEN_FILE).",
        ) from None
    if not text:
        raise ConfigError(f"the token file {token_file} is empty.")
    return text


@dataclasses.dataclass(frozen=True)
class Remote:
    """Where the controller is and the token to show it (never printed)."""

    target: str
    token: str | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def of(cls, controller: str, token: str | None, token_file: Path | None) -> Remote:
        return cls(check_target(controller), read_token(token, token_file))

    def connect(self) -> ControllerClient:
        try:
            from vmafx.client.grpc_client import GrpcControllerClient  # noqa: PLC0415
        except ImportError:
            raise MissingExtraError(
                "talking to a controller needs grpcio, which is not installed.",
                extra="controller",
                command="pip install 'vmafx[controller]'",
            ) from None
        return GrpcControllerClient(self.target, token=self.token)

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
                f"the controller at {self.target} refused the call: {error.message}",
                hint="Pass a token with --token-file FILE (or VMAFX_TOKEN); an admin creates "
                "one with `vmafx tokens create --role writer --tenant T`.",
            ) from None

    def unreachable(self, error: UnavailableError) -> UnavailableError:
        return UnavailableError(
            f"no working controller answered at {self.target} ({error.message}).",
            hint=START_HINT,
        )

"""`vmafx tokens create|list|revoke`: static API tokens, kept only as SHA-256 digests."""

from __future__ import annotations

import asyncio
import enum
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer

from vmafx.core.tokens import ApiToken, Role

if TYPE_CHECKING:
    from vmafx.store import JobStore

T = TypeVar("T")


class Format(enum.StrEnum):
    text = "text"
    json = "json"


HELP = """Manage the API tokens clients and nodes send as `authorization: Bearer <token>`.

Roles: reader (read jobs and nodes), writer (+ submit and cancel), admin (+ drain nodes),
node (register and run jobs; needed by `vmafx node`). Each token belongs to one tenant.
The secret is printed once at creation and never stored; keep it safe.

    vmafx tokens create --role writer --tenant acme --name ci > writer.token
    vmafx tokens create --role node --tenant acme --format json
    vmafx tokens list
    vmafx tokens revoke 3f0c…
"""

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
STORE_HELP = (
    "sqlite:///PATH or postgresql://… [default: VMAFX_STORE_URL, else SQLite in the state folder]."
)


def _with_store(store: str | None, work: Callable[[JobStore], Awaitable[T]]) -> T:
    from vmafx.controller.main import prepare_store, store_url  # noqa: PLC0415
    from vmafx.controller.settings import controller_settings  # noqa: PLC0415
    from vmafx.scheduler import Scheduler  # noqa: PLC0415
    from vmafx.store import open_job_store  # noqa: PLC0415

    url = store_url(controller_settings(flags={"store_url": store}))
    prepare_store(url)

    async def main() -> T:
        opened = open_job_store(url, Scheduler())
        try:
            return await work(opened)
        finally:
            await opened.close()

    return asyncio.run(main())


@app.command("create")
def create(
    role: Role = typer.Option(..., "--role", help="reader, writer, admin or node."),
    tenant: str = typer.Option(..., "--tenant", help="The tenant the token acts for."),
    name: str = typer.Option("", "--name", help="A name to recognise it by in `tokens list`."),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
    fmt: Format = typer.Option(
        Format.text, "--format", help="text: the secret alone on stdout; json: one object."
    ),
) -> None:
    """Create a token and print its secret (shown only this once).

    Only the secret goes to stdout, so `vmafx tokens create … > node.token` writes a file that
    `--token-file` reads; what was created is said on stderr.
    """
    from vmafx.controller.auth import create_token  # noqa: PLC0415
    from vmafx.core.clock import SystemClock  # noqa: PLC0415

    token, secret = _with_store(
        store, lambda s: create_token(s, SystemClock(), role=role, tenant=tenant, name=name)
    )
    if fmt is Format.json:
        typer.echo(json.dumps({**_token_json(token), "secret": secret}))
        return
    typer.echo(
        f"created token {token.id} ({token.role} in tenant {token.tenant}"
        f"{', ' + token.name if token.name else ''}); its secret, shown only this once, "
        "is on stdout (send it as `authorization: Bearer <secret>`).",
        err=True,
    )
    typer.echo(secret)


def _token_json(token: ApiToken) -> dict[str, str | None]:
    return {
        "id": token.id,
        "role": str(token.role),
        "tenant": token.tenant,
        "name": token.name,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


def _state(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return f"revoked {token.revoked_at:%Y-%m-%d %H:%M}"
    if token.expires_at is not None:
        return f"expires {token.expires_at:%Y-%m-%d %H:%M}"
    return "active"


@app.command("list")
def list_(
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's tokens."),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """List tokens (never their secrets)."""
    tokens = _with_store(store, lambda s: s.list_tokens(tenant=tenant))
    if not tokens:
        typer.echo("no tokens; create one with `vmafx tokens create --role R --tenant T`")
        return
    for token in tokens:
        typer.echo(
            f"{token.id}  {token.tenant:<16} {token.role:<7} {token.name:<24} "
            f"{token.created_at:%Y-%m-%d %H:%M}  {_state(token)}"
        )


@app.command("revoke")
def revoke(
    token_id: str = typer.Argument(..., help="The token's id, as `tokens list` shows it."),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Revoke a token: calls with it are refused within seconds."""
    from vmafx.core.clock import SystemClock  # noqa: PLC0415

    token = _with_store(store, lambda s: s.revoke_token(token_id, now=SystemClock().now()))
    typer.echo(f"revoked token {token.id} ({token.role} in tenant {token.tenant})")

"""`vmafx tokens create|list|revoke`: static API tokens, kept only as SHA-256 digests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer

from vmafx.core.tokens import ApiToken, Role

if TYPE_CHECKING:
    from vmafx.store import JobStore

T = TypeVar("T")
HELP = """Manage the API tokens clients and nodes send as `authorization: Bearer <token>`.

Roles: reader (read jobs and nodes), writer (+ submit and cancel), admin (+ drain nodes),
node (register and run jobs; needed by `vmafx node`). Each token belongs to one tenant.
The secret is printed once at creation and never stored; keep it safe.

    vmafx tokens create --role writer --tenant acme --name ci
    vmafx tokens list
    vmafx tokens revoke 3f0c…
"""

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
STORE_HELP = (
    "sqlite:///PATH or postgresql://… [default: VMAFX_STORE_URL, else SQLite in the state folder]."
)


def _with_store(store: str | None, work: Callable[[JobStore], Awaitable[T]]) -> T:
    from vmafx.config import controller_settings  # noqa: PLC0415
    from vmafx.controller.main import prepare_store, store_url  # noqa: PLC0415
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
) -> None:
    """Create a token and print its secret (shown only this once)."""
    from vmafx.controller.auth import create_token  # noqa: PLC0415
    from vmafx.core.clock import SystemClock  # noqa: PLC0415

    token, secret = _with_store(
        store, lambda s: create_token(s, SystemClock(), role=role, tenant=tenant, name=name)
    )
    typer.echo(f"created token {token.id} ({token.role} in tenant {token.tenant}, {token.name})")
    typer.echo("secret (shown once; send it as `authorization: Bearer <secret>`):")
    typer.echo(secret)


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

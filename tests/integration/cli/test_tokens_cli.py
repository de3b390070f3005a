"""`vmafx tokens create|list|revoke` and `vmafx controller migrate` on a SQLite store."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from vmafx.cli.app import app
from vmafx.controller.auth import Authenticator
from vmafx.core.clock import SystemClock
from vmafx.errors import AuthError
from vmafx.scheduler import Scheduler
from vmafx.store.sql import SqlJobStore


def _authenticate(url: str, secret: str) -> object:
    async def main() -> object:
        store = SqlJobStore(url, Scheduler())
        try:
            return await Authenticator(store, SystemClock()).authenticate(f"Bearer {secret}")
        except AuthError as error:
            return error
        finally:
            await store.close()

    return asyncio.run(main())


def test_a_created_token_is_shown_once_listed_without_secret_and_revocable(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    runner = CliRunner()
    created = runner.invoke(
        app,
        [
            "tokens",
            "create",
            "--role",
            "writer",
            "--tenant",
            "acme",
            "--name",
            "ci",
            "--store",
            url,
        ],
    )
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    token_id = created.output.split()[2]
    assert secret.startswith("vmafx_")
    listed = runner.invoke(app, ["tokens", "list", "--store", url])
    assert token_id in listed.output and "active" in listed.output
    assert secret not in listed.output
    principal = _authenticate(url, secret)
    assert getattr(principal, "tenant", None) == "acme"
    revoked = runner.invoke(app, ["tokens", "revoke", token_id, "--store", url])
    assert revoked.exit_code == 0
    assert isinstance(_authenticate(url, secret), AuthError)


def test_an_unknown_role_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = CliRunner().invoke(
        app, ["tokens", "create", "--role", "root", "--tenant", "acme", "--store", url]
    )
    assert result.exit_code == 2


def test_controller_migrate_brings_a_new_store_to_the_current_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'store.db'}"
    result = CliRunner().invoke(app, ["controller", "migrate", "--store", url])
    assert result.exit_code == 0, result.output
    assert "revision" in result.output

"""Tokens, roles and the loopback rule."""

from __future__ import annotations

import pytest

from vmafx.controller.auth import (
    DEV_PRINCIPAL,
    Action,
    Authenticator,
    Principal,
    check_auth_config,
    create_token,
    require,
)
from vmafx.core.clock import FakeClock
from vmafx.core.tokens import Role, token_digest
from vmafx.errors import AuthError, ConfigError, ForbiddenError, UsageError
from vmafx.scheduler import Scheduler
from vmafx.store import InMemoryJobStore


@pytest.fixture
def store():
    return InMemoryJobStore(Scheduler())


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.READER, {Action.READ}),
        (Role.WRITER, {Action.READ, Action.WRITE}),
        (Role.ADMIN, {Action.READ, Action.WRITE, Action.ADMIN}),
        (Role.NODE, {Action.NODE}),
    ],
)
def test_each_role_may_do_exactly_its_actions(role, allowed):
    principal = Principal.of("acme", role)
    for action in Action:
        if action in allowed:
            require(principal, action)
        else:
            with pytest.raises(ForbiddenError):
                require(principal, action)


def test_auth_disabled_acts_as_admin_and_node_of_tenant_dev():
    assert DEV_PRINCIPAL.tenant == "dev"
    require(DEV_PRINCIPAL, Action.ADMIN)
    require(DEV_PRINCIPAL, Action.NODE)


@pytest.mark.anyio
async def test_a_created_token_authenticates_as_its_role_and_tenant(store):
    clock = FakeClock()
    token, secret = await create_token(store, clock, role=Role.WRITER, tenant="acme", name="ci")
    principal = await Authenticator(store, clock).authenticate(f"Bearer {secret}")
    assert (principal.tenant, principal.roles, principal.name) == ("acme", {Role.WRITER}, "ci")
    assert token.token_sha256 == token_digest(secret)
    assert secret not in repr(token)


@pytest.mark.anyio
@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer vmafx_wrong"])
async def test_a_missing_or_wrong_token_is_refused(store, header):
    with pytest.raises(AuthError):
        await Authenticator(store, FakeClock()).authenticate(header)


@pytest.mark.anyio
async def test_a_revoked_token_is_refused(store):
    clock = FakeClock()
    token, secret = await create_token(store, clock, role=Role.READER, tenant="acme")
    await store.revoke_token(token.id, now=clock.now())
    with pytest.raises(AuthError, match="revoked"):
        await Authenticator(store, clock).authenticate(f"Bearer {secret}")


@pytest.mark.anyio
async def test_with_auth_disabled_any_caller_is_the_dev_principal(store):
    assert (
        await Authenticator(store, FakeClock(), disabled=True).authenticate(None) == DEV_PRINCIPAL
    )


@pytest.mark.anyio
async def test_a_tenant_name_with_odd_characters_is_refused(store):
    with pytest.raises(UsageError, match="tenant"):
        await create_token(store, FakeClock(), role=Role.READER, tenant="../x")


@pytest.mark.parametrize(
    "listens", [["127.0.0.1:9090", "127.0.0.1:8080"], ["[::1]:9090", "localhost:8080"]]
)
def test_auth_may_be_disabled_when_every_listener_is_on_loopback(listens):
    check_auth_config(True, listens)


@pytest.mark.parametrize("exposed", ["0.0.0.0:9090", "[::]:9090", "10.1.2.3:9090", ":9090"])
def test_auth_may_not_be_disabled_on_a_reachable_listener(exposed):
    with pytest.raises(ConfigError, match="reachable from other machines"):
        check_auth_config(True, ["127.0.0.1:8080", exposed])


def test_with_auth_enabled_any_listener_is_fine():
    check_auth_config(False, ["0.0.0.0:9090"])


def test_a_listen_address_without_a_port_is_a_config_error():
    with pytest.raises(ConfigError, match="HOST:PORT"):
        check_auth_config(True, ["127.0.0.1"])

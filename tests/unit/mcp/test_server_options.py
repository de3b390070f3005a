"""Bearer tokens checked by the controller, the HTTP safety checks, and the missing-SDK hint."""

from __future__ import annotations

import sys

import pytest

from vmafx.client.tls import ControllerAddress
from vmafx.errors import AuthError, ConfigError, MissingExtraError, UnavailableError, exit_code_for
from vmafx.mcp.auth import ControllerTokenVerifier
from vmafx.mcp.farm import Farm
from vmafx.mcp.main import McpOptions, check
from vmafx.mcp.sdk import require_sdk


class TokenCheckingClient:
    """A controller client that accepts one token (and counts the checks)."""

    calls = 0

    def __init__(self, token: str | None, *, down: bool = False) -> None:
        self.token = token
        self.down = down

    async def list_jobs(self, *args: object, **kwargs: object) -> object:
        TokenCheckingClient.calls += 1
        if self.down:
            raise UnavailableError("connection refused")
        if self.token != "good-secret":
            raise AuthError("the token is not valid.")
        return object()  # a page; the verifier only needs the call to succeed

    async def close(self) -> None:
        return None


def farm(down: bool = False) -> Farm:
    return Farm("127.0.0.1:9090", lambda token: TokenCheckingClient(token, down=down))  # type: ignore[arg-type,return-value]


async def test_a_token_the_controller_accepts_is_accepted_and_a_wrong_one_refused() -> None:
    verifier = ControllerTokenVerifier(farm())
    good = await verifier.verify_token("good-secret")
    assert good is not None
    assert good.token == "good-secret"
    assert "good-secret" not in good.client_id
    assert await verifier.verify_token("wrong") is None


async def test_a_verdict_is_reused_within_its_ttl_and_asked_again_after() -> None:
    now = [0.0]
    verifier = ControllerTokenVerifier(farm(), ttl_s=30, clock=lambda: now[0])
    TokenCheckingClient.calls = 0
    await verifier.verify_token("good-secret")
    await verifier.verify_token("good-secret")
    assert TokenCheckingClient.calls == 1
    now[0] = 31.0
    await verifier.verify_token("good-secret")
    assert TokenCheckingClient.calls == 2


async def test_an_unreachable_controller_is_reported_as_such_not_as_a_bad_token() -> None:
    from starlette.authentication import AuthenticationError

    verifier = ControllerTokenVerifier(farm(down=True))
    with pytest.raises(
        AuthenticationError, match=r"no working controller answered at 127\.0\.0\.1:9090"
    ):
        await verifier.verify_token("good-secret")


def test_http_without_a_controller_needs_no_auth_on_loopback() -> None:
    with pytest.raises(ConfigError, match="checks bearer tokens with the controller") as info:
        check(McpOptions(http="127.0.0.1:8765"))
    assert info.value.hint is not None and "--no-auth" in info.value.hint
    check(McpOptions(http="127.0.0.1:8765", no_auth=True))


def test_no_auth_beyond_loopback_is_refused() -> None:
    with pytest.raises(ConfigError, match="would let anyone who reaches it use vmafx"):
        check(McpOptions(http="0.0.0.0:8765", no_auth=True, controller=ControllerAddress("c:1")))


def test_a_malformed_http_address_names_the_form() -> None:
    with pytest.raises(ConfigError, match="is not HOST:PORT"):
        check(McpOptions(http="8765", controller=ControllerAddress("c:1")))


def test_a_missing_sdk_names_the_install_command_and_exits_19(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "mcp.server.mcpserver", None)
    with pytest.raises(MissingExtraError) as info:
        require_sdk()
    assert "pip install 'vmafx[mcp]'" in str(info.value)
    assert exit_code_for(info.value) == 19


async def test_the_oldest_per_token_client_is_closed_when_the_cache_is_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed: list[str | None] = []

    class Closing(TokenCheckingClient):
        async def close(self) -> None:
            closed.append(self.token)

    monkeypatch.setattr("vmafx.mcp.farm.MAX_CLIENTS", 2)
    many = Farm("127.0.0.1:9090", Closing)  # type: ignore[arg-type]
    for token in ("a", "b", "c"):
        await many.client(token)
    assert closed == ["a"]
    await many.close()
    assert sorted(t or "" for t in closed) == ["a", "b", "c"]

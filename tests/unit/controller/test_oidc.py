"""OIDC bearer tokens checked against a JWKS (fetched through an injected function here; the
loopback JWKS server is in tests/integration/controller/test_tls_oidc.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from tests.tlskeys import AUDIENCE, ISSUER, SigningKey, ec_key, mint, rsa_key

from vmafx.controller.auth import Authenticator, create_token
from vmafx.controller.oidc import (
    Jwks,
    OidcSettings,
    OidcVerifier,
    oidc_settings,
    oidc_verifier,
    parse_role_map,
)
from vmafx.controller.settings import ControllerSettings
from vmafx.core.clock import FakeClock
from vmafx.core.tokens import Role
from vmafx.errors import AuthError, ConfigError, UnavailableError
from vmafx.scheduler import Scheduler
from vmafx.store import InMemoryJobStore

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def rsa() -> SigningKey:
    return rsa_key()


@pytest.fixture(scope="module")
def ec() -> SigningKey:
    return ec_key()


class Issuer:
    """The JWKS documents an issuer serves, one per fetch (the last one repeats)."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.down = False
        self.now = 0.0

    def fetch(self, url: str) -> bytes:
        self.fetches += 1
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused")
        return json.dumps({"keys": [key.jwk() for key in self.keys]}).encode()

    def verifier(self, **settings: Any) -> OidcVerifier:
        oidc = OidcSettings(
            issuer=ISSUER, audience=AUDIENCE, jwks_url="https://idp.test/jwks", **settings
        )
        jwks = Jwks(oidc.jwks_url, fetch=self.fetch, monotonic=lambda: self.now)
        return OidcVerifier(oidc, jwks)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(claims: dict[str, Any], alg: str, kid: str, secret: bytes) -> str:
    header = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
    body = f"{header}.{b64(json.dumps(claims).encode())}"
    if alg == "none":
        return f"{body}."
    mac = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return f"{body}.{b64(mac)}"


def bearer(token: str) -> str:
    return f"Bearer {token}"


@pytest.mark.parametrize("which", ["rsa", "ec"])
async def test_a_good_token_gives_its_tenant_and_role(which, request):
    key = request.getfixturevalue(which)
    issuer = Issuer(key)
    auth = Authenticator(InMemoryJobStore(Scheduler()), FakeClock(), oidc=issuer.verifier())
    principal = await auth.authenticate(bearer(mint(key, tenant="acme", role="writer")))
    assert (principal.tenant, principal.roles) == ("acme", frozenset({Role.WRITER}))
    assert principal.name == "alice@example.test"
    assert principal.expires_at is not None
    assert principal.token_id is not None and principal.token_id.startswith("oidc:")


async def test_the_keys_are_fetched_once_and_kept(rsa):
    issuer = Issuer(rsa)
    verifier = issuer.verifier()
    for _ in range(3):
        await verifier.verify(mint(rsa))
    assert issuer.fetches == 1


async def test_keys_are_fetched_again_after_their_time_to_live(rsa):
    issuer = Issuer(rsa)
    verifier = issuer.verifier()
    await verifier.verify(mint(rsa))
    issuer.now += 301
    await verifier.verify(mint(rsa))
    assert issuer.fetches == 2


async def test_a_role_map_turns_group_names_into_roles(rsa):
    issuer = Issuer(rsa)
    verifier = issuer.verifier(
        role_claim="realm_access.roles",
        tenant_claim="org",
        role_map={"farm-admins": Role.ADMIN, "farm-users": Role.WRITER},
    )
    token = mint(
        rsa,
        tenant=None,
        role=None,
        extra={"org": "acme", "realm_access": {"roles": ["farm-users", "farm-admins", "other"]}},
    )
    identity = await verifier.verify(token)
    assert (identity.tenant, identity.roles) == ("acme", frozenset({Role.ADMIN, Role.WRITER}))


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"lifetime_s": -120}, "the token has expired."),
        ({"issuer": "https://evil.test"}, "issued by someone else; this controller accepts"),
        ({"audience": "another-api"}, "not meant for this controller (audience 'vmafx')"),
        ({"not_before_s": 600}, "not valid yet"),
        ({"tenant": None}, "claim 'vmafx_tenant' is missing"),
        ({"role": "superuser"}, "grants no vmafx role: claim 'vmafx_role' holds 'superuser'"),
        ({"tenant": "acme/../beta"}, "tenant claim is not a valid tenant name"),
    ],
)
async def test_a_token_failing_a_check_is_refused_saying_which(rsa, claims, message):
    issuer = Issuer(rsa)
    auth = Authenticator(InMemoryJobStore(Scheduler()), FakeClock(), oidc=issuer.verifier())
    with pytest.raises(AuthError, match=message.replace("(", r"\(").replace(")", r"\)")):
        await auth.authenticate(bearer(mint(rsa, **claims)))


async def test_expiry_within_the_leeway_is_still_accepted(rsa):
    await Issuer(rsa).verifier().verify(mint(rsa, lifetime_s=-10))


async def test_a_token_signed_by_another_key_with_a_known_kid_is_refused(rsa):
    impostor = SigningKey(rsa.kid, "RS256", rsa_key().private)
    with pytest.raises(AuthError, match="signature does not verify"):
        await Issuer(rsa).verifier().verify(mint(impostor))


async def test_an_unknown_kid_refetches_once_then_refuses_without_asking_again(rsa):
    issuer = Issuer(rsa)
    verifier = issuer.verifier()
    await verifier.verify(mint(rsa))
    stranger = rsa_key("not-published")
    with pytest.raises(AuthError, match="'not-published', which the issuer's JWKS"):
        await verifier.verify(mint(stranger))
    assert issuer.fetches == 2
    for _ in range(5):
        with pytest.raises(AuthError):
            await verifier.verify(mint(stranger))
    assert issuer.fetches == 2


async def test_a_rotated_key_is_found_by_the_refetch(rsa):
    issuer = Issuer(rsa)
    verifier = issuer.verifier()
    await verifier.verify(mint(rsa))
    rotated = rsa_key("rsa-2")
    issuer.keys.append(rotated)
    issuer.now += 31
    await verifier.verify(mint(rotated))


@pytest.mark.parametrize("alg", ["none", "HS256"])
async def test_unsigned_and_hmac_tokens_are_refused_before_any_key_is_used(rsa, alg):
    issuer = Issuer(rsa)
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": 4_000_000_000}
    claims |= {"vmafx_tenant": "acme", "vmafx_role": "admin"}
    # HS256 keyed with the published key's JWK text: the classic algorithm-confusion attack
    # (made by hand: PyJWT itself refuses to sign with a key that looks like a JWK).
    token = hand_signed(claims, alg, rsa.kid, json.dumps(rsa.jwk()).encode())
    with pytest.raises(AuthError, match=f"signed with '{alg}'; only RS256 or ES256"):
        await issuer.verifier().verify(token)
    assert issuer.fetches == 0


async def test_a_token_whose_alg_does_not_match_its_key_is_refused(rsa, ec):
    issuer = Issuer(rsa, ec)
    lying = SigningKey(rsa.kid, "ES256", ec.private)  # ES256 signature, kid of the RSA key
    with pytest.raises(AuthError, match="is a RS256 key"):
        await issuer.verifier().verify(mint(lying))


async def test_an_unreachable_jwks_is_unavailable_naming_the_url(rsa):
    issuer = Issuer(rsa)
    issuer.down = True
    with pytest.raises(UnavailableError, match=r"cannot be fetched from https://idp.test/jwks"):
        await issuer.verifier().verify(mint(rsa))


async def test_keys_already_held_keep_working_while_the_jwks_is_down(rsa):
    issuer = Issuer(rsa)
    verifier = issuer.verifier()
    await verifier.verify(mint(rsa))
    issuer.down = True
    issuer.now += 301
    await verifier.verify(mint(rsa))
    assert issuer.fetches == 2


async def test_a_jwt_is_refused_when_oidc_is_not_configured():
    auth = Authenticator(InMemoryJobStore(Scheduler()), FakeClock())
    with pytest.raises(AuthError, match="accepts no OIDC tokens"):
        await auth.authenticate(bearer(mint(rsa_key())))


async def test_static_tokens_still_work_beside_oidc(rsa):
    store, clock = InMemoryJobStore(Scheduler()), FakeClock()
    _, secret = await create_token(store, clock, role=Role.READER, tenant="beta")
    auth = Authenticator(store, clock, oidc=Issuer(rsa).verifier())
    assert (await auth.authenticate(bearer(secret))).tenant == "beta"


# --- settings ---------------------------------------------------------------------------------
def test_oidc_is_off_unless_configured():
    assert oidc_verifier(ControllerSettings()) is None


def test_half_an_oidc_configuration_is_refused_naming_what_is_missing():
    with pytest.raises(ConfigError, match="--oidc-jwks-url is missing"):
        oidc_verifier(ControllerSettings(oidc_issuer=ISSUER, oidc_audience=AUDIENCE))


@pytest.mark.parametrize(
    "url", ["http://idp.example/jwks", "ftp://idp.example/jwks", "file:///etc/jwks"]
)
def test_a_jwks_url_in_the_clear_off_loopback_is_refused(url):
    with pytest.raises(ConfigError, match="must be an https:// URL"):
        oidc_settings(
            issuer=ISSUER,
            audience=AUDIENCE,
            jwks_url=url,
            role_claim="r",
            tenant_claim="t",
            role_map=None,
        )


def test_a_role_map_entry_naming_no_role_is_refused():
    assert parse_role_map("a=admin, b=reader") == {"a": Role.ADMIN, "b": Role.READER}
    with pytest.raises(ConfigError, match="'staff=boss' is not CLAIM_VALUE=ROLE"):
        parse_role_map("staff=boss")

"""OIDC bearer tokens: JWTs from an organisation's identity provider, beside the static tokens.

A token is accepted when all of these hold (PyJWT does the cryptography):

- its header names an algorithm in `ALGORITHMS` (RS256, ES256; `none` and HMAC are refused
  before any key is looked at) and a `kid` found in the issuer's JWKS;
- its signature verifies with that key, of the key's own type;
- `iss` is the configured issuer, `aud` contains the configured audience, `exp` is in the future
  and `nbf` (when present) in the past, each within `leeway_s`;
- the tenant claim holds a valid tenant name, and the role claim (a string or a list of strings,
  mapped through `role_map` when one is configured) gives at least one vmafx role.

Claims may be dotted paths into nested objects (`realm_access.roles`, as Keycloak writes them).

The JWKS is fetched on first use and kept for `jwks_ttl_s`; a token whose `kid` is not in it
makes one refetch, at most once per `refetch_interval_s` (so a flood of made-up kids cannot turn
the controller into a JWKS hammer), after which the token is refused. When a refetch fails the
keys already held keep working; with none held, the token gets UnavailableError (HTTP 503, gRPC
UNAVAILABLE) naming the JWKS URL, since the token itself may be fine.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jwt

from vmafx.controller.settings import ControllerSettings
from vmafx.core.tokens import Role
from vmafx.errors import AuthError, ConfigError, UnavailableError

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "ES256")
MAX_JWKS_BYTES = 1024 * 1024
MAX_KEYS = 100
FETCH_TIMEOUT_S = 5.0
OIDC_HINT = "Sign in again with your identity provider to get a fresh token."


@dataclasses.dataclass(frozen=True, kw_only=True)
class OidcSettings:
    issuer: str
    audience: str
    jwks_url: str
    role_claim: str = "vmafx_role"
    tenant_claim: str = "vmafx_tenant"
    #: Claim value → vmafx role (e.g. an IdP group); empty: claim values are role names.
    role_map: Mapping[str, Role] = dataclasses.field(default_factory=dict)
    leeway_s: float = 30.0
    jwks_ttl_s: float = 300.0
    refetch_interval_s: float = 30.0


def parse_role_map(text: str | None) -> dict[str, Role]:
    """`group-a=admin,group-b=writer` → {"group-a": Role.ADMIN, …}; ConfigError when malformed."""
    roles = ", ".join(role.value for role in Role)
    mapping: dict[str, Role] = {}
    for raw in (text or "").split(","):
        item = raw.strip()
        if not item:
            continue
        value, sep, role = (part.strip() for part in item.rpartition("="))
        if not sep or not value or role not in {r.value for r in Role}:
            raise ConfigError(
                f"--oidc-role-map entry {item!r} is not CLAIM_VALUE=ROLE with ROLE one of {roles}.",
                hint="For example --oidc-role-map vmafx-admins=admin,vmafx-users=writer.",
            )
        mapping[value] = Role(role)
    return mapping


def oidc_settings(
    *,
    issuer: str | None,
    audience: str | None,
    jwks_url: str | None,
    role_claim: str,
    tenant_claim: str,
    role_map: str | None,
    leeway_s: float = 30.0,
) -> OidcSettings | None:
    """OIDC settings from the controller's flags; None when OIDC is not configured."""
    given = {"--oidc-issuer": issuer, "--oidc-audience": audience, "--oidc-jwks-url": jwks_url}
    if not any(given.values()):
        return None
    missing = [flag for flag, value in given.items() if not value]
    if missing:
        raise ConfigError(
            f"OIDC needs {', '.join(given)}; {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing.",
            hint="Give all three (VMAFX_CONTROLLER_OIDC_ISSUER, _AUDIENCE, _JWKS_URL), or none "
            "to accept only static tokens.",
        )
    assert issuer and audience and jwks_url
    check_jwks_url(jwks_url)
    if not role_claim or not tenant_claim:
        raise ConfigError("--oidc-role-claim and --oidc-tenant-claim must not be empty.")
    if not 0 <= leeway_s <= 600:
        raise ConfigError(
            f"VMAFX_CONTROLLER_OIDC_LEEWAY_S is {leeway_s!r}; it must be 0 to 600 seconds."
        )
    return OidcSettings(
        issuer=issuer,
        audience=audience,
        jwks_url=jwks_url,
        role_claim=role_claim,
        tenant_claim=tenant_claim,
        role_map=parse_role_map(role_map),
        leeway_s=leeway_s,
    )


def oidc_verifier(settings: ControllerSettings) -> OidcVerifier | None:
    """The controller's OIDC verifier, None without OIDC; ConfigError when half configured."""
    oidc = oidc_settings(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        jwks_url=settings.oidc_jwks_url,
        role_claim=settings.oidc_role_claim,
        tenant_claim=settings.oidc_tenant_claim,
        role_map=settings.oidc_role_map,
        leeway_s=settings.oidc_leeway_s,
    )
    return None if oidc is None else OidcVerifier(oidc)


def check_jwks_url(url: str) -> None:
    """https, or http on loopback only (keys fetched in the clear could be swapped)."""
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
    if parts.scheme == "https" or (parts.scheme == "http" and loopback):
        return
    raise ConfigError(
        f"--oidc-jwks-url {url!r} must be an https:// URL (http:// only on loopback).",
        hint="Use the jwks_uri from your issuer's /.well-known/openid-configuration.",
    )


def looks_like_jwt(secret: str) -> bool:
    """Three base64url parts, the first a JSON object: a JWT, never a static `vmafx_…` token."""
    return secret.startswith("eyJ") and secret.count(".") == 2


Fetch = Callable[[str], bytes]


def fetch_url(url: str) -> bytes:
    """GET `url` (blocking; run in a thread) with a timeout and a size cap."""
    request = urllib.request.Request(url, headers={"accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:  # noqa: S310
        body: bytes = response.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError(f"the document is larger than {MAX_JWKS_BYTES} bytes")
    return body


def parse_jwks(body: bytes) -> dict[str, jwt.PyJWK]:
    """kid → key for every signing key of an allowed algorithm; others are skipped."""
    document = json.loads(body)
    raw_keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(raw_keys, list):
        raise ValueError("it has no `keys` list")
    keys: dict[str, jwt.PyJWK] = {}
    for raw in raw_keys[:MAX_KEYS]:
        if not isinstance(raw, dict) or not isinstance(raw.get("kid"), str):
            continue
        if raw.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(raw)
        except jwt.PyJWTError as error:
            log.debug("skipping JWKS key %s: %s", raw.get("kid"), error)
            continue
        if key.algorithm_name in ALGORITHMS:
            keys[raw["kid"]] = key
    return keys


class Jwks:
    """The issuer's keys by kid, fetched lazily, cached, refetched (bounded) on an unknown kid."""

    def __init__(
        self,
        url: str,
        *,
        ttl_s: float = 300.0,
        refetch_interval_s: float = 30.0,
        fetch: Fetch = fetch_url,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._ttl_s = ttl_s
        self._refetch_interval_s = refetch_interval_s
        self._fetch = fetch
        self._monotonic = monotonic
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._tried_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key `kid` names; None when the issuer does not have it (after one refetch)."""
        if kid in self._keys and not self._stale():
            return self._keys[kid]
        async with self._lock:
            if self._stale():
                await self._refresh(unknown_kid=False)
            if kid not in self._keys:
                await self._refresh(unknown_kid=True)
            return self._keys.get(kid)

    def _stale(self) -> bool:
        fetched = self._fetched_at
        return fetched is None or self._monotonic() - fetched >= self._ttl_s

    async def _refresh(self, *, unknown_kid: bool) -> None:
        """Fetch the keys; an unknown kid or a failure holds off the next try for a while."""
        now = self._monotonic()
        held_off = self._tried_at is not None and now - self._tried_at < self._refetch_interval_s
        if held_off and (unknown_kid or self._fetched_at is not None):
            return  # asked moments ago: refuse unknown kids without asking the issuer again
        if held_off:
            raise self._unavailable("the last try failed moments ago")
        if unknown_kid:
            self._tried_at = now
        self.fetches += 1
        try:
            body = await asyncio.to_thread(self._fetch, self.url)
            keys = parse_jwks(body)
        except (OSError, ValueError) as error:
            self._tried_at = now
            reason = str(getattr(error, "reason", None) or error)
            log.warning("cannot fetch the OIDC keys from %s: %s", self.url, reason)
            if self._fetched_at is None:
                raise self._unavailable(reason) from None
            return  # keep the keys held; the next try comes after the refetch interval
        self._keys = keys
        self._fetched_at = now
        log.info("fetched %d OIDC signing key(s) from %s", len(keys), self.url)

    def _unavailable(self, reason: str) -> UnavailableError:
        return UnavailableError(
            f"the OIDC signing keys cannot be fetched from {self.url} ({reason}), so the "
            "token cannot be checked.",
            hint="Retry shortly; an operator should check --oidc-jwks-url and that the "
            "controller can reach the identity provider.",
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class OidcIdentity:
    """What a verified token says: who, in which tenant, with which roles, until when."""

    subject: str
    tenant: str
    roles: frozenset[Role]
    expires_at: datetime
    token_id: str | None


def claim(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted claim path, None when absent."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


class OidcVerifier:
    def __init__(self, settings: OidcSettings, jwks: Jwks | None = None) -> None:
        self.settings = settings
        self.jwks = jwks or Jwks(
            settings.jwks_url,
            ttl_s=settings.jwks_ttl_s,
            refetch_interval_s=settings.refetch_interval_s,
        )

    async def verify(self, token: str) -> OidcIdentity:
        """The identity in `token`, or AuthError saying which check failed."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("the bearer token is not a well-formed JWT.", hint=OIDC_HINT) from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise AuthError(
                f"the token is signed with {alg!r}; only {' or '.join(ALGORITHMS)} are accepted.",
                hint="Configure the identity provider to sign access tokens with RS256 or ES256.",
            )
        if not isinstance(kid, str) or not kid:
            raise AuthError("the token's header names no signing key (`kid`).", hint=OIDC_HINT)
        key = await self.jwks.key(kid)
        if key is None:
            raise AuthError(
                f"the token is signed with key {kid!r}, which the issuer's JWKS "
                f"({self.jwks.url}) does not list.",
                hint=OIDC_HINT,
            )
        if key.algorithm_name != alg:
            raise AuthError(f"the token says {alg} but key {kid!r} is a {key.algorithm_name} key.")
        claims = self._decode(token, key, alg)
        return self._identity(claims)

    def _decode(self, token: str, key: jwt.PyJWK, alg: str) -> dict[str, Any]:
        s = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=s.audience,
                issuer=s.issuer,
                leeway=s.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired.", hint=OIDC_HINT) from None
        except jwt.ImmatureSignatureError:
            raise AuthError("the token is not valid yet (nbf/iat in the future).") from None
        except jwt.InvalidIssuerError:
            raise AuthError(
                f"the token was issued by someone else; this controller accepts {s.issuer}.",
                hint="Get a token from the configured issuer (--oidc-issuer).",
            ) from None
        except jwt.InvalidAudienceError:
            raise AuthError(
                f"the token is not meant for this controller (audience {s.audience!r}).",
                hint="Ask the identity provider for a token with this audience (--oidc-audience).",
            ) from None
        except jwt.InvalidSignatureError:
            raise AuthError("the token's signature does not verify.", hint=OIDC_HINT) from None
        except jwt.MissingRequiredClaimError as error:
            raise AuthError(f"the token has no `{error.claim}` claim.") from None
        except jwt.PyJWTError as error:
            raise AuthError(f"the token is not valid: {error}.", hint=OIDC_HINT) from None
        return claims

    def _identity(self, claims: Mapping[str, Any]) -> OidcIdentity:
        s = self.settings
        tenant = claim(claims, s.tenant_claim)
        if not isinstance(tenant, str) or not tenant:
            raise AuthError(
                f"the token has no tenant: claim {s.tenant_claim!r} is missing or not a string.",
                hint="Map the tenant into the token at the identity provider, or point "
                "--oidc-tenant-claim at the claim that holds it.",
            )
        values = claim(claims, s.role_claim)
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            values = []
        roles = frozenset(self._role(value) for value in values if isinstance(value, str)) - {None}
        if not roles:
            raise AuthError(
                f"the token grants no vmafx role: claim {s.role_claim!r} holds "
                f"{claim(claims, s.role_claim)!r}.",
                hint="Give the user a role at the identity provider, or map its groups with "
                "--oidc-role-map GROUP=ROLE (roles: reader, writer, admin, node).",
            )
        jti = claims.get("jti")
        return OidcIdentity(
            subject=str(claims.get("sub", "")),
            tenant=tenant,
            roles=frozenset(role for role in roles if role is not None),
            expires_at=datetime.fromtimestamp(float(claims["exp"]), UTC),
            token_id=f"oidc:{jti}" if isinstance(jti, str) else None,
        )

    def _role(self, value: str) -> Role | None:
        if self.settings.role_map:
            return self.settings.role_map.get(value)
        try:
            return Role(value)
        except ValueError:
            return None

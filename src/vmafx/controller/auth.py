"""Who is calling and what they may do: API tokens, roles, tenants, and the loopback rule.

Every call carries `authorization: Bearer <secret>` (gRPC metadata or HTTP header). A static
secret is looked up by its SHA-256 (the only form the store keeps); with OIDC configured, a JWT
is verified against the issuer's JWKS instead (`vmafx.controller.oidc`: signature, issuer,
audience, expiry, and claims mapped to tenant and roles). Either gives a `Principal`: one tenant
and its roles. What each role may do is the `ALLOWED` table, checked by the service on every
verb with `require`:

    action   roles                  verbs
    read     reader, writer, admin  get/list/watch jobs, list nodes
    write    writer, admin          submit, cancel
    admin    admin                  drain nodes
    node     node                   register, heartbeat, pull, report, release

Admin is never admitted to node verbs (a node token is its own role, as in the original).
Auth may be disabled only when every listener is on loopback; the caller is then tenant `dev`
with the admin and node roles.

`Authenticator.authenticate(authorization)` is the one check, for a new call and again for a
long-lived stream re-checking its token: it raises AuthError once a static token is revoked or
expired (within `TOKEN_CACHE_S`) or an OIDC token's `exp` has passed (within the leeway).
"""

from __future__ import annotations

import dataclasses
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum

from vmafx.controller.oidc import OidcVerifier, looks_like_jwt
from vmafx.core.addresses import is_loopback
from vmafx.core.clock import Clock
from vmafx.core.tokens import ApiToken, Role, token_digest
from vmafx.errors import AuthError, ConfigError, ForbiddenError, UsageError
from vmafx.store.port import JobStore

DEV_TENANT = "dev"
TOKEN_PREFIX = "vmafx_"  # noqa: S105 - a prefix, not a secret
#: How long a looked-up token is trusted before the store is asked again (revocation delay).
TOKEN_CACHE_S = 5.0
_TENANT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


class Action(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    NODE = "node"


ALLOWED: Mapping[Action, frozenset[Role]] = {
    Action.READ: frozenset({Role.READER, Role.WRITER, Role.ADMIN}),
    Action.WRITE: frozenset({Role.WRITER, Role.ADMIN}),
    Action.ADMIN: frozenset({Role.ADMIN}),
    Action.NODE: frozenset({Role.NODE}),
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The caller: its tenant, its roles, and the token's name (for logs); `expires_at` is when
    an OIDC token runs out (None for static tokens, checked in the store)."""

    tenant: str
    roles: frozenset[Role]
    name: str = ""
    token_id: str | None = None
    expires_at: datetime | None = None

    @classmethod
    def of(cls, tenant: str, *roles: Role, name: str = "") -> Principal:
        return cls(tenant=tenant, roles=frozenset(roles), name=name)


#: The caller when auth is disabled (loopback only).
DEV_PRINCIPAL = Principal(
    tenant=DEV_TENANT, roles=frozenset({Role.ADMIN, Role.NODE}), name="auth-disabled"
)


def require(principal: Principal, action: Action) -> None:
    """Raise ForbiddenError unless one of the caller's roles may do `action`."""
    allowed = ALLOWED[action]
    if principal.roles & allowed:
        return
    have = ", ".join(sorted(principal.roles)) or "none"
    need = ", ".join(sorted(allowed))
    raise ForbiddenError(
        f"this call needs the {action} permission (role {need}); the token has role {have}.",
        hint="Create a token with the right role: vmafx tokens create --role ROLE --tenant T.",
    )


def bearer_secret(authorization: str | None) -> str:
    """The secret in an `authorization: Bearer <secret>` value, or AuthError."""
    if not authorization:
        raise AuthError(
            "no credentials: send `authorization: Bearer <token>`.",
            hint="Create a token with `vmafx tokens create --role writer --tenant T`.",
        )
    scheme, _, secret = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AuthError("the authorization value must be `Bearer <token>`.")
    return secret.strip()


class Authenticator:
    """Turns a bearer token into a Principal: static tokens through a short cache in front of
    the store, JWTs through `oidc` when configured."""

    def __init__(
        self,
        store: JobStore,
        clock: Clock,
        *,
        disabled: bool = False,
        oidc: OidcVerifier | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self.disabled = disabled
        self.oidc = oidc
        self._cache: dict[str, tuple[float, ApiToken | None]] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller of a call (or of a stream, again), or AuthError / UnavailableError."""
        if self.disabled:
            return DEV_PRINCIPAL
        secret = bearer_secret(authorization)
        if looks_like_jwt(secret):
            return await self._verify_jwt(secret)
        digest = token_digest(secret)
        token = await self._lookup(digest)
        if token is None or not token.is_valid(self._clock.now()):
            raise AuthError(
                "the token is unknown, expired or revoked.",
                hint="Check the token, or create a new one with `vmafx tokens create`.",
            )
        return Principal(
            tenant=token.tenant, roles=frozenset({token.role}), name=token.name, token_id=token.id
        )

    async def _verify_jwt(self, secret: str) -> Principal:
        if self.oidc is None:
            raise AuthError(
                "the token is a JWT, but this controller accepts no OIDC tokens.",
                hint="Use a vmafx token (`vmafx tokens create`), or start the controller with "
                "--oidc-issuer, --oidc-audience and --oidc-jwks-url.",
            )
        identity = await self.oidc.verify(secret)
        return Principal(
            tenant=check_oidc_tenant(identity.tenant),
            roles=identity.roles,
            name=identity.subject,
            token_id=identity.token_id,
            expires_at=identity.expires_at,
        )

    async def _lookup(self, digest: str) -> ApiToken | None:
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and now - cached[0] < TOKEN_CACHE_S:
            return cached[1]
        token = await self._store.find_token(digest)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now, token)
        return token


# --- tokens ------------------------------------------------------------------------------------
def check_tenant(tenant: str) -> str:
    if not tenant or len(tenant) > 64 or not set(tenant) <= _TENANT_CHARS:
        raise UsageError(
            f"tenant {tenant!r} is not valid.",
            hint="Use 1-64 letters, digits, '-' or '_'.",
        )
    return tenant


def check_oidc_tenant(tenant: str) -> str:
    """A tenant from a token's claim, or AuthError (the token, not the request, is wrong)."""
    try:
        return check_tenant(tenant)
    except UsageError as error:
        raise AuthError(
            f"the token's tenant claim is not a valid tenant name: {error.message}",
            hint="Tenants are 1-64 letters, digits, '-' or '_'; fix the claim at the identity "
            "provider.",
        ) from None


def new_secret() -> str:
    """A fresh token secret: 256 random bits, URL-safe, with a recognisable prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def create_token(
    store: JobStore, clock: Clock, *, role: Role, tenant: str, name: str = ""
) -> tuple[ApiToken, str]:
    """Store a new token and return it with its secret (shown once, never stored)."""
    secret = new_secret()
    token = ApiToken(
        id=str(uuid.uuid4()),
        tenant=check_tenant(tenant),
        name=name or f"{role}-token",
        role=role,
        token_sha256=token_digest(secret),
        created_at=clock.now(),
    )
    return await store.create_token(token), secret


# --- the loopback rule -------------------------------------------------------------------------
def split_listen(listen: str) -> tuple[str, int]:
    """`host:port` (IPv6 as `[::1]:9090`) as (host, port), or ConfigError."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(
            f"listen address {listen!r} is not HOST:PORT.",
            hint="For example 127.0.0.1:9090, [::1]:9090 or 0.0.0.0:9090.",
        )
    return host.strip("[]"), int(port)


def check_auth_config(auth_disabled: bool, listens: Sequence[str]) -> None:
    """Refuse to run without auth unless every listener is bound to loopback."""
    if not auth_disabled:
        return
    exposed = [listen for listen in listens if not is_loopback(split_listen(listen)[0])]
    if exposed:
        raise ConfigError(
            f"auth is disabled but the controller would listen on {', '.join(exposed)}, "
            "which is reachable from other machines; anyone could then submit jobs and "
            "read every result.",
            hint="Bind every listener to loopback (127.0.0.1 or [::1]), or enable auth and "
            "create tokens with `vmafx tokens create`.",
        )

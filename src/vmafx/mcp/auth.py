"""Bearer tokens over HTTP, checked by the controller itself: no second copy of its auth rules.

`ControllerTokenVerifier.verify_token` asks the controller for one job with the caller's token
(a cheap read every reader, writer and admin may do). A static farm token and an OIDC token
are both accepted exactly when the controller accepts them; a wrong, expired or revoked one,
or a node token, is refused (HTTP 401). An answer is kept for `ttl_s` so a session's many
requests cost one check. An unreachable controller is not the caller's fault: the request is
answered 400 with the message naming the address, rather than a misleading 401.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthenticationError

from vmafx.errors import AuthError, UnavailableError
from vmafx.mcp.farm import Farm

TTL_S = 30.0
MAX_CACHED = 1024


class ControllerTokenVerifier:
    """The SDK's `TokenVerifier`: a token is good when the controller accepts it."""

    def __init__(
        self, farm: Farm, *, ttl_s: float = TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._farm = farm
        self._ttl_s = ttl_s
        self._clock = clock
        self._seen: dict[str, tuple[float, bool]] = {}

    async def verify_token(self, token: str) -> AccessToken | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = self._clock()
        cached = self._seen.get(digest)
        if cached is not None and now - cached[0] < self._ttl_s:
            return self._access(token, digest) if cached[1] else None
        try:
            await self._farm.call(lambda client: client.list_jobs(limit=1), token)
            good = True
        except AuthError:  # wrong, expired, revoked, or a role that may not read jobs
            good = False
        except UnavailableError as error:
            raise AuthenticationError(str(error)) from None
        if len(self._seen) >= MAX_CACHED:
            self._seen.clear()
        self._seen[digest] = (now, good)
        return self._access(token, digest) if good else None

    @staticmethod
    def _access(token: str, digest: str) -> AccessToken:
        # The client id names the token without revealing it (sessions are bound to it).
        return AccessToken(token=token, client_id=f"token-{digest[:16]}", scopes=[])

"""Who is calling: the HTTP caller's verified bearer token, passed on to the controller."""

from __future__ import annotations

from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.mcpserver import Context


def bearer_of(ctx: Context[Any, Any]) -> str | None:
    """The HTTP caller's verified bearer token; None over stdio."""
    request = ctx.request_context.request if ctx.request_context else None
    scope = getattr(request, "scope", None)
    user = scope.get("user") if isinstance(scope, dict) else None
    return user.access_token.token if isinstance(user, AuthenticatedUser) else None

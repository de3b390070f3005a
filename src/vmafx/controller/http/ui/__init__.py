"""The web UI: static pages the controller serves at `/ui/` (and `/` redirects there).

Hand-written HTML, CSS and JavaScript modules in `static/`, no build step and no CDN, so the UI
works offline and ships inside the wheel. The pages hold no data: they read the `/v1` API like
any client (with the token a user pastes once, kept in the tab's sessionStorage), so serving
them needs no token. Every page is sent with a strict Content-Security-Policy: scripts, styles
and connections from this origin only, nothing inline.

The UI lives here, under the controller's HTTP layer (DESIGN.md: "controller/http (+ web
pages)"), rather than in `vmafx.web`: the controller serves it, and the controller may not
import the `web` layer above it.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"
PREFIX = "/ui"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidate each time (ETag / Last-Modified): a controller upgrade is seen at once.
    "Cache-Control": "no-cache",
}


class UiFiles(StaticFiles):
    """The static files, each answer with the UI's security headers."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(HEADERS)
        return response


async def _to_ui() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/", status_code=307)


def mount_ui(app: FastAPI) -> None:
    """Serve the UI at `/ui/` and send `/` there (neither is in the OpenAPI document)."""
    app.add_api_route("/", _to_ui, methods=["GET"], include_in_schema=False)
    app.mount(PREFIX, UiFiles(directory=STATIC, html=True), name="ui")


__all__ = ["STATIC", "mount_ui"]

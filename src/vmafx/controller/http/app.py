"""`build_http_app`: the controller's HTTP API as a FastAPI app over one `ControllerService`.

    POST /v1/jobs                 submit one job                        writer
    POST /v1/jobs/batch           submit many in one transaction        writer
    GET  /v1/jobs                 list: filters, cursor paging          reader
    GET  /v1/jobs/{id}            one job with attempts, attribution    reader
    POST /v1/jobs/{id}/cancel     cancel                                writer
    GET  /v1/jobs/{id}/events     SSE: snapshot, event log, live        reader
    GET  /v1/events               SSE: every job of the tenant, live    reader
    GET  /v1/nodes                nodes, GPUs, slots in use             reader
    POST /v1/nodes/{id}/drain     stop giving a node work               admin
    GET  /v1/models               model versions, figures, served one   reader
    POST /v1/score                                                      501 for now
    GET  /healthz /readyz /openapi.json                                 no token
    GET  /metrics          no token: totals without tenant names; a read token: its tenant's
    GET  /ui/ (and / redirects there)   the web UI's static pages       no token

Every error is `{"error": {"type", "message", "hint"}}` with the status from the one table in
`errors.py`. Interactive docs (/docs, /redoc) are off: FastAPI loads them from a CDN, and the
controller must work offline; /openapi.json is served.

The composition root (`vmafx.controller.main`) builds the service, the authenticator and the
metrics exporter, calls this, and serves the app with uvicorn (`httpserving`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from vmafx import __version__
from vmafx.config import default_checkpoint_dir
from vmafx.controller.auth import Authenticator
from vmafx.controller.http import errors
from vmafx.controller.http.bodylimit import BodyLimit
from vmafx.controller.http.context import HttpContext, HttpLimits
from vmafx.controller.http.routes.events import events_router
from vmafx.controller.http.routes.jobs import jobs_router
from vmafx.controller.http.routes.libraries import libraries_router
from vmafx.controller.http.routes.models import models_router
from vmafx.controller.http.routes.nodes import nodes_router
from vmafx.controller.http.routes.ops import ops_router
from vmafx.controller.http.routes.stats import stats_router
from vmafx.controller.http.schemas import ErrorOut
from vmafx.controller.http.ui import mount_ui
from vmafx.controller.metrics import MetricsExporter
from vmafx.controller.service import ControllerService
from vmafx.controller.settings import ControllerSettings
from vmafx.errors import UnavailableError, VmafxError

log = logging.getLogger(__name__)

_DESCRIPTION = (
    "Submit and follow video-quality and encode jobs on a vmafx farm. Authenticate with "
    "`Authorization: Bearer <token>`; everything is scoped to the token's tenant. Errors are "
    '`{"error": {"type", "message", "hint"}}`.'
)
_API_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (400, "Malformed request: bad JSON, unknown or missing field, bad value"),
        (401, "No token, or an unknown, expired or revoked one"),
        (403, "The token's role may not do this, or an input lies outside the scoring roots"),
        (404, "No such job or node in the caller's tenant"),
        (409, "A state change that is not allowed"),
        (413, "Request body over the limit"),
        (422, "A job spec that fails validation"),
        (503, "The store is unavailable; retry"),
    )
}


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    ctx = app.state.vmafx
    assert isinstance(ctx, HttpContext)
    try:
        await ctx.service.check_ready()
    except UnavailableError as error:
        log.warning("HTTP API starting while not ready: %s", error)
    yield


def build_http_app(
    *,
    service: ControllerService,
    auth: Authenticator,
    metrics: MetricsExporter,
    settings: ControllerSettings | None = None,
    limits: HttpLimits | None = None,
) -> FastAPI:
    """The HTTP API over `service`. `settings` is the controller's (its `model_dir` is listed by
    /v1/models); `limits` overrides the body cap and the SSE keep-alive period."""
    limits = limits or HttpLimits()
    model_dir = (settings.model_dir if settings else None) or default_checkpoint_dir()
    app = FastAPI(
        title="vmafx controller",
        version=__version__,
        description=_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=_lifespan,
    )
    app.state.vmafx = HttpContext(
        service=service, auth=auth, metrics=metrics, limits=limits, model_dir=model_dir
    )
    routers = (jobs_router(), events_router(), nodes_router(), models_router(), stats_router())
    for router in (*routers, libraries_router()):
        app.include_router(router, responses=_API_ERRORS)
    app.include_router(ops_router())
    mount_ui(app)
    app.add_exception_handler(VmafxError, errors.on_vmafx_error)
    app.add_exception_handler(RequestValidationError, errors.on_validation_error)
    app.add_exception_handler(HTTPException, errors.on_http_exception)
    app.add_exception_handler(Exception, errors.on_unexpected)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    return app


__all__ = ["HttpLimits", "build_http_app"]

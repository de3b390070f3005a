"""The one table from vmafx errors to HTTP status codes, and the JSON body every error has.

Every failure leaves the HTTP API as `{"error": {"type", "message", "hint"}}` (validation
failures add `fields`: one entry per offending field, with its path), with the status of the
most specific class of the error found in `HTTP_STATUS`:

    status  error                                             when
    400     UsageError, InputError, InvalidRequestError       a request that makes no sense
    401     AuthError                                         no, wrong, expired or revoked token
    403     ForbiddenError, InputOutsideRootsError            role may not; path outside the roots
    404     NotFoundError (RouteNotFoundError)                another tenant's job looks absent
    405     MethodNotAllowedError                             a path that exists, another method
    409     ConflictError, StaleAttemptError                  a state change that is not allowed
    413     BodyTooLargeError                                 body over the limit (1 MiB)
    422     InvalidSpecError, Unknown{Model,Feature}Error,    a well-formed job whose spec fails
            MismatchError                                     validation
    501     NotBuiltError                                     a route whose backend is not wired
    503     UnavailableError                                  store down, stream lagged, stopping
    500     VmafxError, anything else                         a bug: logged, details not sent

The classes defined here are the HTTP layer's own; everything else comes from `vmafx.errors`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from vmafx import errors as e
from vmafx.core.specs import MAX_JSON_DEPTH

log = logging.getLogger(__name__)


class InvalidRequestError(e.UsageError):
    """A request FastAPI could not decode (malformed JSON, missing or unknown field, bad type)."""

    def __init__(self, message: str, *, fields: Sequence[Mapping[str, str]] = ()) -> None:
        self.fields = [dict(field) for field in fields]
        super().__init__(message, hint="See /openapi.json for the request's schema.")


class InvalidSpecError(e.UsageError):
    """A job whose spec fails its kind's validation (the body itself was well formed)."""


class BodyTooLargeError(e.UsageError):
    """A request body over the limit."""


class RouteNotFoundError(e.NotFoundError):
    """No route has this path."""


class MethodNotAllowedError(e.UsageError):
    """The path exists, but not with this method."""


class NotBuiltError(e.VmafxError):
    """A route whose backend this controller does not have yet."""


#: Most specific first: the first class in an error's MRO found here decides its status.
HTTP_STATUS: Mapping[type[e.VmafxError], int] = {
    BodyTooLargeError: 413,
    InvalidSpecError: 422,
    MethodNotAllowedError: 405,
    NotBuiltError: 501,
    e.StaleAttemptError: 409,
    e.ConflictError: 409,
    e.ForbiddenError: 403,
    e.InputOutsideRootsError: 403,
    e.AuthError: 401,
    e.NotFoundError: 404,
    e.UnknownModelError: 422,
    e.UnknownFeatureError: 422,
    e.MismatchError: 422,
    e.UsageError: 400,
    e.InputError: 400,
    e.UnavailableError: 503,
    e.VmafxError: 500,
}


def status_for(error: BaseException) -> int:
    for cls in type(error).__mro__:
        status = HTTP_STATUS.get(cls)
        if status is not None:
            return status
    return 500


def error_body(error: e.VmafxError) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "type": type(error).__name__,
        "message": error.message,
        "hint": error.hint,
    }
    if isinstance(error, InvalidRequestError):
        detail["fields"] = error.fields
    if isinstance(error, e.StaleAttemptError):
        detail.update(job_id=error.job_id, attempt=error.attempt)
    return {"error": detail}


def error_response(error: BaseException) -> JSONResponse:
    """The response for any error: its status from the table, its body as above."""
    if not isinstance(error, e.VmafxError):
        log.error("internal error in an HTTP call", exc_info=error)
        error = e.VmafxError("internal error; see the controller log.")
    status = status_for(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        retry_s = error.retry_after_s if isinstance(error, e.OverloadedError) else 5
        headers = {"Retry-After": str(max(1, math.ceil(retry_s)))}
    return JSONResponse(error_body(error), status_code=status, headers=headers)


# --- FastAPI's own errors, re-shaped ------------------------------------------------------------
def _field_path(location: Sequence[Any]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _problem(item: Mapping[str, Any]) -> str:
    if item.get("type") == "json_invalid":
        return f"is not valid JSON ({item.get('ctx', {}).get('error', 'decode error')})"
    if item.get("type") == "extra_forbidden":
        return "is not a known field"
    return str(item.get("msg", "is not valid")).rstrip(".")


def invalid_request(error: RequestValidationError) -> InvalidRequestError:
    """FastAPI's validation error as an InvalidRequestError naming every offending field."""
    fields = []
    for item in error.errors():
        location = list(item.get("loc", ()))
        if item.get("type") == "json_invalid":
            location = ["body"]
        fields.append({"path": _field_path(location), "message": _problem(item)})
    summary = "; ".join(f"{field['path']} {field['message']}" for field in fields[:5])
    more = f" (and {len(fields) - 5} more)" if len(fields) > 5 else ""
    return InvalidRequestError(f"the request is not valid: {summary}{more}.", fields=fields)


async def on_vmafx_error(_request: Request, error: Exception) -> JSONResponse:
    return error_response(error)


async def on_validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return error_response(invalid_request(error))


async def on_http_exception(request: Request, error: Exception) -> JSONResponse:
    """Starlette's own 404/405 (and any HTTPException) in the same shape."""
    assert isinstance(error, HTTPException)
    if isinstance(error.__cause__, RecursionError):  # FastAPI's json.loads of the body gave up
        too_deep = f"nests JSON more than {MAX_JSON_DEPTH} levels deep"
        return error_response(
            InvalidRequestError(
                f"the request body {too_deep}.", fields=[{"path": "body", "message": too_deep}]
            )
        )
    if error.status_code == 404:
        mapped: e.VmafxError = RouteNotFoundError(
            f"no route {request.url.path}.", hint="See /openapi.json for the routes."
        )
    elif error.status_code == 405:
        mapped = MethodNotAllowedError(f"{request.method} is not allowed on {request.url.path}.")
    else:
        mapped = e.UsageError(str(error.detail))
    return JSONResponse(error_body(mapped), status_code=error.status_code, headers=error.headers)


async def on_unexpected(_request: Request, error: Exception) -> JSONResponse:
    return error_response(error)

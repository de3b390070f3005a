"""The one table from vmafx errors to gRPC status codes, and back for clients.

The server aborts a call with the code of the most specific error class listed and sends the
class name in the `vmafx-error` trailing metadata, so a vmafx client raises the very same class
(e.g. StaleAttemptError, which shares PERMISSION_DENIED with ForbiddenError); an OverloadedError
(RESOURCE_EXHAUSTED) carries its retry-after in `vmafx-retry-after-ms`. Errors vmafx did
not raise on purpose become INTERNAL without details.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from vmafx import errors as e

ERROR_METADATA = "vmafx-error"
#: Trailing metadata of an OverloadedError: milliseconds to wait before calling again.
RETRY_AFTER_METADATA = "vmafx-retry-after-ms"

#: Most specific first: the first class in an error's MRO found here decides its code.
GRPC_CODES: Mapping[type[e.VmafxError], grpc.StatusCode] = {
    e.StaleAttemptError: grpc.StatusCode.PERMISSION_DENIED,
    e.InputOutsideRootsError: grpc.StatusCode.PERMISSION_DENIED,
    e.ForbiddenError: grpc.StatusCode.PERMISSION_DENIED,
    e.AuthError: grpc.StatusCode.UNAUTHENTICATED,
    e.NotFoundError: grpc.StatusCode.NOT_FOUND,
    e.ConflictError: grpc.StatusCode.FAILED_PRECONDITION,
    e.UsageError: grpc.StatusCode.INVALID_ARGUMENT,
    e.InputError: grpc.StatusCode.INVALID_ARGUMENT,
    e.ConfigError: grpc.StatusCode.FAILED_PRECONDITION,
    e.OverloadedError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    e.UnavailableError: grpc.StatusCode.UNAVAILABLE,
    e.VmafxError: grpc.StatusCode.UNKNOWN,
}

#: For a client: the error class of a code when the server named none.
_BY_CODE: Mapping[grpc.StatusCode, type[e.VmafxError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: e.UsageError,
    grpc.StatusCode.OUT_OF_RANGE: e.UsageError,
    grpc.StatusCode.NOT_FOUND: e.NotFoundError,
    grpc.StatusCode.FAILED_PRECONDITION: e.ConflictError,
    grpc.StatusCode.ALREADY_EXISTS: e.ConflictError,
    grpc.StatusCode.ABORTED: e.ConflictError,
    grpc.StatusCode.PERMISSION_DENIED: e.ForbiddenError,
    grpc.StatusCode.UNAUTHENTICATED: e.AuthError,
    grpc.StatusCode.UNAVAILABLE: e.UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: e.UnavailableError,
    # The server (or the network) dropped the call: a burst of thousands of calls at once has
    # some refused by gRPC itself before vmafx sees them. A local cancel raises CancelledError.
    grpc.StatusCode.CANCELLED: e.UnavailableError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: e.UsageError,
}
_BY_NAME: Mapping[str, type[e.VmafxError]] = {
    cls.__name__: cls for cls in (*GRPC_CODES, e.InputNotFoundError)
}


def code_for(error: BaseException) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        code = GRPC_CODES.get(cls)
        if code is not None:
            return code
    return grpc.StatusCode.INTERNAL


def error_for(
    code: grpc.StatusCode, details: str, name: str | None = None, **fields: object
) -> e.VmafxError:
    """The VmafxError a client raises for a failed call (`name` from `vmafx-error`)."""
    cls = _BY_NAME.get(name or "") or _BY_CODE.get(code, e.VmafxError)
    if issubclass(cls, e.StaleAttemptError):
        job_id = str(fields.get("job_id", ""))
        attempt = fields.get("attempt", 0)
        return e.StaleAttemptError(details, job_id=job_id, attempt=int(str(attempt)))
    if issubclass(cls, e.InputError):
        return cls(details)
    if issubclass(cls, e.OverloadedError):
        retry_ms = fields.get("retry_after_ms") or 1000
        return e.OverloadedError(details, retry_after_s=int(str(retry_ms)) / 1000)
    return cls(details or f"the controller answered {code.name}")

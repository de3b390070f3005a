"""Generic gRPC method handlers: parse, authenticate, call the servicer, map errors.

Requests arrive as raw bytes and are parsed here, so a malformed message gets a precise
INVALID_ARGUMENT (grpc's own deserializer failure would be a bare INTERNAL). Every call is
authenticated from its `authorization` metadata before anything else; a streaming call
re-checks that token before each message and while idle (streamauth), and ends with
UNAUTHENTICATED once it is revoked or expired. A `VmafxError` aborts the
call with the code from `vmafx.api.status` and its class name in the `vmafx-error` trailer;
anything else is logged and answered INTERNAL.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import grpc
from google.protobuf.message import DecodeError, Message

from vmafx.api.pb import controller_pb2 as pb
from vmafx.api.status import ERROR_METADATA, RETRY_AFTER_METADATA, code_for
from vmafx.controller.auth import Authenticator, Principal
from vmafx.controller.streamauth import STREAM_RECHECK_S, while_authorized
from vmafx.errors import OverloadedError, StaleAttemptError, UsageError, VmafxError

log = logging.getLogger(__name__)
SERVICE = pb.DESCRIPTOR.services_by_name["VmafxController"]

Unary = Callable[[Any, Principal], Awaitable[Message]]
Streaming = Callable[[Any, Principal], AsyncIterator[Message]]


def _authorization(context: grpc.aio.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return str(value)
    return None


def _parse(cls: type[Message], raw: bytes) -> Message:
    try:
        return cls.FromString(raw)
    except DecodeError as error:
        raise MalformedRequestError(cls.DESCRIPTOR.full_name, error) from None


class MalformedRequestError(UsageError):
    def __init__(self, name: str, error: Exception) -> None:
        super().__init__(f"the request is not a valid {name} message: {error}.")


async def abort(context: grpc.aio.ServicerContext, error: BaseException) -> NoReturn:
    if not isinstance(error, VmafxError):
        log.error("internal error in a gRPC call", exc_info=error)
        await context.abort(grpc.StatusCode.INTERNAL, "internal error; see the controller log")
    code = code_for(error)
    trailer: list[tuple[str, str]] = [(ERROR_METADATA, type(error).__name__)]
    if isinstance(error, StaleAttemptError):
        trailer += [("vmafx-job-id", error.job_id), ("vmafx-attempt", str(error.attempt))]
    if isinstance(error, OverloadedError):
        trailer.append((RETRY_AFTER_METADATA, str(max(1, round(error.retry_after_s * 1000)))))
    await context.abort(code, str(error), trailing_metadata=tuple(trailer))
    raise AssertionError("unreachable")  # pragma: no cover - abort raises


def unary_handler(
    call: Unary, request_cls: type[Message], response_cls: type[Message], auth: Authenticator
) -> grpc.RpcMethodHandler:
    async def handle(raw: bytes, context: grpc.aio.ServicerContext) -> Message:
        try:
            caller = await auth.authenticate(_authorization(context))
            return await call(_parse(request_cls, raw), caller)
        except Exception as error:  # every failure leaves through abort, with its code
            if isinstance(error, grpc.aio.AbortError):
                raise
            await abort(context, error)

    return grpc.unary_unary_rpc_method_handler(
        handle, response_serializer=response_cls.SerializeToString
    )


def stream_handler(
    call: Streaming,
    request_cls: type[Message],
    response_cls: type[Message],
    auth: Authenticator,
    *,
    recheck_s: float = STREAM_RECHECK_S,
) -> grpc.RpcMethodHandler:
    async def handle(raw: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[Message]:
        authorization = _authorization(context)
        try:
            caller = await auth.authenticate(authorization)
            items = call(_parse(request_cls, raw), caller)
            verify = functools.partial(auth.authenticate, authorization)
            async for item in while_authorized(items, verify, recheck_s=recheck_s):
                yield item
        except Exception as error:
            if isinstance(error, grpc.aio.AbortError):
                raise
            await abort(context, error)

    return grpc.unary_stream_rpc_method_handler(
        handle, response_serializer=response_cls.SerializeToString
    )


def generic_handler(
    servicer: object, auth: Authenticator, *, stream_recheck_s: float = STREAM_RECHECK_S
) -> grpc.GenericRpcHandler:
    """One handler per RPC of the service, each bound to the servicer's method of that name;
    streaming ones re-check their token every `stream_recheck_s` while idle."""
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for method in SERVICE.methods:
        request_cls = getattr(pb, method.input_type.name)
        response_cls = getattr(pb, method.output_type.name)
        call = getattr(servicer, method.name)
        if method.server_streaming:
            handlers[method.name] = stream_handler(
                call, request_cls, response_cls, auth, recheck_s=stream_recheck_s
            )
        else:
            handlers[method.name] = unary_handler(call, request_cls, response_cls, auth)
    return grpc.method_handlers_generic_handler(SERVICE.full_name, handlers)

"""A request-body size limit, as plain ASGI middleware (it must not buffer responses: SSE).

A declared `Content-Length` over the limit is refused before anything is read; a body sent
without one (chunked) is read up to the limit and refused as soon as it goes over. Either way
the answer is 413 with the API's error body. A body within the limit is handed on unchanged;
after it, `receive` is the server's again, so the app still hears the client disconnect.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vmafx.controller.http.errors import BodyTooLargeError, error_response

MIB = 1024 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int = MIB) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self, size: str) -> BodyTooLargeError:
        return BodyTooLargeError(
            f"the request body is {size} bytes; at most {self.max_bytes} are accepted.",
            hint="Split a large batch into several requests.",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(self._too_large(declared.decode()))(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left before the body ended
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await error_response(self._too_large(f"over {size}"))(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed

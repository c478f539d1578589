"""Limits before work: the largest request body a service reads (S3), enforced while reading it.

The outermost middleware of every service (``web.attach``). A declared ``Content-Length`` beyond the
limit is answered 413 before a byte of the body is read and before the token is looked at; a body
sent without one (chunked) is counted as it arrives, and whoever reads it — the idempotency
middleware, FastAPI's parser — meets a 413 as soon as the count passes the limit, so no more than
the limit is ever held in memory. Nothing inside runs for a refused body but authentication, and
that only when the body came without a length.
"""

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import problems


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the body passes the limit; FastAPI lets an HTTPException through
    its body parsing, and this middleware answers it if nothing inside did."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def too_large(scope: Scope, limit: int) -> JSONResponse:
    return problems.response(
        413, f"the request body is larger than the limit of {limit} bytes", instance=scope.get("path")
    )


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else -1
    return None


class BodyLimitMiddleware:
    """Pure ASGI: 413 problem+json for a body over ``max_bytes``, read no further than that."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _declared_length(scope)
        if declared is not None and (declared < 0 or declared > self.max_bytes):
            # The server closes the connection after answering a request whose body was not read.
            return await too_large(scope, self.max_bytes)(scope, receive, send)
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await too_large(scope, self.max_bytes)(scope, receive, send)

"""Every request's request id, trace context and metrics, and the 500 problem for an unhandled error.

``Telemetry`` is the outermost of the services' own middleware, plain ASGI (it wraps ``send`` and
nothing else, so a request costs a few microseconds more, a live stream nothing per event):

- a request id: the caller's ``X-Request-ID`` when it is a sensible token, else a new one; answered in
  the response's ``X-Request-ID`` and named by every log line of the request (``logs.REQUEST_ID``);
- the trace context (``shared.tracing``): the request's ``traceparent``, or a new trace, is the parent
  of the request's span (named ``POST /v1/incidents`` when exported: shared/trace_export.py), current while
  the route runs, so what the request stores carries it;
- ``http_server_request_duration_seconds{method,route,status}``: ``route`` is the route's template
  (``/v1/incidents/{incident_id}``), never the path, so an id never becomes a time series.

An unhandled error reaches ``server_error`` (registered for ``Exception``, which Starlette calls from
its outermost middleware): logged with its traceback and the request id, answered as a 500
problem that names the request id and nothing of the error.
"""

import random
import re
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import logs, problems, tracing

log = logs.get(__name__)

REQUEST_ID_HEADER = b"x-request-id"
TRACEPARENT_HEADER = b"traceparent"
# A caller's own request id is kept when it is a token of this form; anything else is replaced.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=/-]{1,128}")
# Where the request id and trace context wait for ``server_error``, which runs after this middleware returned.
STATE = "request_id"
TRACE_STATE = "trace_context"
UNMATCHED = "unmatched"
# Methods outside the HTTP ones count together, so a client cannot invent time series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Time from a request's arrival to its response's last byte, by method, route template and status",
    ["method", "route", "status"],
    # OpenTelemetry's recommended boundaries for http.server.request.duration.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0),
)


def request_id_of(given: bytes | None) -> str:
    if given is not None:
        text = given.decode("latin-1")
        if _REQUEST_ID.fullmatch(text):
            return text
    return new_request_id()


def new_request_id() -> str:
    # Unique, not secret: 128 bits from the Mersenne Twister, without uuid4's system call for randomness.
    return format(random.getrandbits(128), "032x")


def route_of(scope: Scope) -> str:
    """The template of the route that answered (set on the scope by the router), or ``unmatched``."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class Telemetry:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The histogram's series by (method, route, status): labels() costs more than the observation.
        self.series: dict[tuple[str, str, int], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given_id = given_parent = None
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                given_id = value
            elif name == TRACEPARENT_HEADER:
                given_parent = value.decode("latin-1")
        request_id = request_id_of(given_id)
        answer = request_id.encode()
        status = 500  # unless a response starts: an unhandled error is answered outside this middleware

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, answer)]
            await send(message)

        started = time.perf_counter()
        hop = tracing.begin(given_parent)
        state = scope.setdefault("state", {})
        state[STATE], state[TRACE_STATE] = request_id, hop.context
        token = logs.REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logs.REQUEST_ID.reset(token)
            if tracing.recording():
                tracing.end(hop, *self.span(scope, status, request_id), kind="http")
            else:
                tracing.end(hop)
            self.observe(scope, status, time.perf_counter() - started)

    @staticmethod
    def span(scope: Scope, status: int, request_id: str) -> tuple[str, dict[str, Any]]:
        """The request's span as OpenTelemetry's HTTP conventions name it: ``POST /v1/incidents``."""
        route = route_of(scope)
        attributes = {
            "http.request.method": scope["method"],
            "http.response.status_code": status,
            "url.path": scope["path"],
            "request_id": request_id,
        }
        if route == UNMATCHED:
            return scope["method"], attributes
        return f"{scope['method']} {route}", {**attributes, "http.route": route}

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else "_OTHER"
        key = (method, route_of(scope), status)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = HTTP_DURATION.labels(method, key[1], str(status))
        series.observe(seconds)


def server_error_detail(request_id: str) -> str:
    """What a 500 says: the request id it is logged with, nothing of the error."""
    return f"the service failed while answering; it is logged with request id {request_id}"


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    """A 500 problem for an error no handler answered, logged with its request id and traceback."""
    state: dict[str, Any] = request.scope.get("state") or {}
    request_id = state.get(STATE) or new_request_id()
    context = state.get(TRACE_STATE)
    log.error(
        "request_failed",
        request_id=request_id,
        trace_id=getattr(context, "trace_id", None),
        method=request.method,
        route=route_of(request.scope),
        exc_info=exc,
    )
    return problems.response(
        500,
        server_error_detail(request_id),
        instance=request.url.path,
        headers={"X-Request-ID": request_id},
    )


def install(app: FastAPI) -> None:
    """Request ids, traces and HTTP metrics for every request of ``app``, and 500 as a problem.

    Call it after the other middleware is added, so that this one is outside them: their answers
    (413, 401, 429 …) are measured and carry the request id too."""
    app.add_middleware(Telemetry)
    app.add_exception_handler(Exception, server_error)

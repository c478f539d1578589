"""What every service's HTTP side shares: health, readiness, metrics, bearer authentication, and the
limits every request meets before any work (body size, authentication, rate limits)."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import Scope

from shared import api_docs, openapi, problems, projection, telemetry
from shared.idempotency_middleware import IdempotencyMiddleware
from shared.limits import BodyLimitMiddleware
from shared.problems import Problem
from shared.ratelimit import STATE, Authenticate, RateLimitMiddleware
from shared.settings import Settings

bearer = HTTPBearer(auto_error=False, description="An API token issued by POST /v1/tokens")


def health_router(ready: Callable[[Request], Awaitable[bool]]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> dict[str, str]:
        if not await ready(request):
            raise Problem(503, "not ready: a dependency (PostgreSQL or NATS) is unavailable")
        return {"status": "ready"}

    @router.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def unauthorized(detail: str = "a valid bearer token is required") -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def projected_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> dict[str, Any]:
    """The signed-in person, from this service's own projection of people and tokens."""
    if credentials is None:
        raise unauthorized()
    person = getattr(request.state, STATE, None)  # authenticated already, before the body was read
    if person is None:
        person = await projected_person(request.scope, credentials.credentials)
    if person is None:
        raise unauthorized("unknown or revoked token")
    return person


async def projected_person(scope: Scope, token: str) -> dict[str, Any] | None:
    """The person a token belongs to in this service's projection (the default ``Authenticate``)."""
    async with scope["app"].state.pool.acquire() as conn:
        return await projection.authenticate(conn, token)


Caller = Annotated[dict[str, Any], Depends(projected_caller)]


def attach(
    app: FastAPI,
    ready: Callable[[Request], Awaitable[bool]],
    settings: Settings,
    *,
    authenticate: Authenticate = projected_person,
) -> None:
    """Problem bodies, health and metrics, the API document for client generators (``openapi``: camelCase
    operationIds, each operation's errors and headers), the API's pages with their assets (``api_docs``: no CDN), and
    — on ``app.state.pool`` — Idempotency-Key replay for every POST and the limits. Work that is local
    SQL records its key in the same transaction (``idempotency.transaction``); a service that keeps its
    people elsewhere than the projection (the incident service) passes its own
    ``authenticate(scope, token)``.

    Outermost first: telemetry (request id, trace context, HTTP metrics; ``telemetry``), the body limit
    (413 before reading more than the limit), authentication and the rate limits (401/429 before reading
    the body), Idempotency-Key replay, then the route. An error nothing else answers is a 500 problem."""
    problems.install(app, settings.public_url)
    openapi.install(app)
    app.include_router(health_router(ready))
    api_docs.serve(app)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(RateLimitMiddleware, settings=settings, authenticate=authenticate)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    # Outside the limits: their answers are measured and carry the request id; 500 answers a problem.
    telemetry.install(app)

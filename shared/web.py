"""What every service's HTTP side shares: health, readiness, metrics, bearer authentication."""
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared import organisation, problems
from shared.idempotency import IdempotencyMiddleware
from shared.problems import Problem
from shared.ratelimit import RateLimitMiddleware
from shared.settings import Settings

bearer = HTTPBearer(auto_error=False, description="An API token issued by POST /v1/tokens")


def health_router(ready: Callable[[Request], Awaitable[bool]]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request):
        if not await ready(request):
            raise Problem(503, "not ready: a dependency (PostgreSQL or NATS) is unavailable")
        return {"status": "ready"}

    @router.get("/metrics")
    async def metrics():
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def unauthorized(detail: str = "a valid bearer token is required") -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def projected_caller(request: Request,
                           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> dict:
    """The signed-in person, from this service's own projection of people and tokens."""
    if credentials is None:
        raise unauthorized()
    async with request.app.state.pool.acquire() as conn:
        person = await organisation.authenticate(conn, credentials.credentials)
    if person is None:
        raise unauthorized("unknown or revoked token")
    return person


Caller = Annotated[dict, Depends(projected_caller)]


def attach(app: FastAPI, ready: Callable[[Request], Awaitable[bool]], settings: Settings, *,
           idempotency_keys: bool = True) -> None:
    """Problem bodies, health and metrics, and — on ``app.state.pool`` — Idempotency-Key replay for
    every POST and the per-token rate limit. A service whose POSTs record their key in the
    transaction that does the work (the notifier) passes ``idempotency_keys=False``."""
    problems.install(app)
    app.include_router(health_router(ready))
    if idempotency_keys:
        app.add_middleware(IdempotencyMiddleware)
    # Added last, so outermost: a throttled request never reaches the idempotency table.
    app.add_middleware(RateLimitMiddleware, per_second=settings.rate_limit_per_second,
                       burst=settings.rate_limit_burst)

"""Rate limit per token (S7): a token bucket in PostgreSQL, so every replica of a service draws from the same one.

Each request with a bearer token costs one statement: refill the caller's bucket for the time
since its last request, take a token if there is one, and say whether there was. Requests without
a token are not limited here (they are answered 401); health, metrics and the schema never are.
"""
import asyncio
import math

import asyncpg

from shared import logs, problems
from shared.idempotency import UNAVAILABLE, caller_of, release, unavailable
from shared.settings import Settings

log = logs.get(__name__)

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})

# The upsert's row lock serialises a caller's concurrent requests, and the clock is read once that
# lock is held, so each request refills from where the previous one left. A new bucket starts full.
TAKE = """
INSERT INTO rate_limits AS bucket (caller, tokens, refilled_at, allowed)
VALUES ($1, $3 - 1, clock_timestamp(), true)
ON CONFLICT (caller) DO UPDATE
SET (tokens, allowed, refilled_at) = (
    SELECT CASE WHEN level >= 1 THEN level - 1 ELSE level END, level >= 1, at
    FROM (SELECT least($3, bucket.tokens + $2 * extract(epoch FROM at - bucket.refilled_at)::float8) AS level, at
          FROM clock_timestamp() AS at) AS refill)
RETURNING allowed, tokens
"""


class RateLimitMiddleware:
    """Pure ASGI middleware; answers 429 problem+json with ``Retry-After`` in whole seconds."""

    def __init__(self, app, per_second: float, burst: int):
        self.app, self.per_second, self.burst = app, float(per_second), float(burst)

    async def __call__(self, scope, receive, send) -> None:
        caller = caller_of(scope) if scope["type"] == "http" and scope["path"] not in EXEMPT else None
        if caller is None:
            return await self.app(scope, receive, send)
        pool: asyncpg.Pool = scope["app"].state.pool
        try:
            conn = await pool.acquire(timeout=5)
            try:
                allowed, tokens = await conn.fetchrow(TAKE, caller, self.per_second, self.burst, timeout=5)
            finally:
                await release(pool, conn)
        except UNAVAILABLE:
            return await unavailable(scope)(scope, receive, send)
        if allowed:
            return await self.app(scope, receive, send)
        wait = max(1, math.ceil((1 - tokens) / self.per_second))
        refusal = problems.response(
            429, f"rate limit: {self.per_second:g} requests per second (bursts of {self.burst:g}) per token; "
                 f"retry in {wait} s", headers={"Retry-After": str(wait)}, instance=scope["path"])
        await refusal(scope, receive, send)


async def forget_full_buckets(pool: asyncpg.Pool, limits: Settings, every: float = 600.0) -> None:
    """Delete buckets that have refilled completely: no row means a full bucket, so nothing changes,
    but the table stays bounded (made-up tokens get a row each, as they are limited before authentication)."""
    full_after = limits.rate_limit_burst / limits.rate_limit_per_second
    while True:
        try:
            await pool.execute("DELETE FROM rate_limits WHERE refilled_at < now() - make_interval(secs => $1)",
                               full_after)
        except UNAVAILABLE as exc:
            log.warning("rate_limit_cleanup_failed", error=repr(exc))
        await asyncio.sleep(every)

"""Authentication first, then the rate limits (S7): token buckets in PostgreSQL, so every replica of
a service draws from the same ones.

Every request but health, metrics and the schema is authenticated here, before anything reads its
body (FastAPI parses a body before it runs a route's dependencies): a wrong or missing token is
answered 401 without the body being read. Then:

- a signed-in caller takes a token from the bucket of their bearer token, which the replica takes
  from PostgreSQL a lease of a few at a time when the limit is generous (one statement per lease);
- a failed or missing authentication takes one from the bucket of the client's address (an IPv6
  address counts by its /64, which one client usually holds whole), and is answered 429 once that
  is empty. Made-up tokens therefore add no row of their own: the table holds a row per real token
  and per address that failed recently, and rows whose bucket refilled are deleted;
- a signed link (under ``/links/``, shared/links.py) without a token passes to its route, which
  verifies it; it takes from its address's bucket at a token's rate.

An address over its limit is remembered by the replica until its bucket has a token again, so a
flood of failures costs no statement. A valid token is never refused because of its address.

A service with browser sessions (the incident service's console) sets ``app.state.sessions``: a
request without a bearer token is then the principal of its session cookie, if valid, and draws from
that session's bucket. Only the JSON API (``/v1/…``) needs a principal here; a page outside it (the
console, a signed link) without one goes on to its route, which shows the sign-in page or checks the
link's signature itself.
"""

import asyncio
import hashlib
import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol

import asyncpg
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from shared import links, logs, problems
from shared.idempotency import UNAVAILABLE, caller_of, release, unavailable
from shared.problems import Problem
from shared.settings import Settings

log = logs.get(__name__)

EXEMPT = frozenset(
    {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/rules"}
)
# Where the gate leaves the authenticated principal, for the route's dependency to reuse.
STATE = "warroom_principal"
# The JSON API: a request under it without a principal is a failed authentication.
API = "/v1/"
# Addresses over their limit remembered per replica (oldest forgotten first beyond this many).
REMEMBERED = 10_000

# The principal a bearer token stands for (whatever the service's routes expect), or None.
Authenticate = Callable[[Scope, str], Awaitable[object | None]]

# The upsert's row lock serialises a caller's concurrent requests, and the clock is read once that
# lock is held, so each request refills from where the previous one left. A new bucket starts full.
# $4 tokens are wanted (a lease, below); as many whole ones as the bucket holds, up to that, are granted.
TAKE = """
INSERT INTO rate_limits AS bucket (caller, tokens, refilled_at, allowed, granted)
VALUES ($1, $3::float8 - $4::int, clock_timestamp(), true, $4::int)
ON CONFLICT (caller) DO UPDATE
SET (tokens, allowed, refilled_at, granted) = (
    SELECT level - granted, granted >= 1, at, granted
    FROM (SELECT level, at, greatest(0, least(floor(level), $4::int))::int AS granted
          FROM (SELECT least($3::float8,
                             bucket.tokens + $2::float8 * extract(epoch FROM at - bucket.refilled_at)::float8) AS level,
                       at
                FROM clock_timestamp() AS at) AS refill) AS grant_)
RETURNING allowed, tokens, granted
"""
# A replica takes a caller's tokens a few at a time and spends them on that caller's next requests
# within this long, so most requests cost no statement. What is left when it runs out is forgotten
# (the bucket already paid for it), so a replica can run ahead of the limit by at most one lease.
LEASE_SECONDS = 1.0
MAX_LEASE = 10


def lease_size(per_second: float, burst: float) -> int:
    """Tokens taken at once from a caller's bucket: a few when the limit is generous (the default 50/s
    with bursts of 200 takes 10), exactly one when it is tight, so a small limit is kept to the token."""
    return max(1, min(MAX_LEASE, int(burst // 20), int(per_second // 5)))


class Sessions(Protocol):
    """A service's browser sessions, as ``app.state.sessions``."""

    async def principal(self, scope: Scope) -> tuple[object, bytes] | None:
        """The principal of the request's session cookie and the bucket its requests draw from, or None."""
        ...


async def session_principal(scope: Scope) -> tuple[object | None, bytes]:
    sessions: Sessions | None = getattr(scope["app"].state, "sessions", None)
    found = None if sessions is None else await sessions.principal(scope)
    return (None, b"") if found is None else found


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


def address_of(scope: Scope) -> bytes:
    """The bucket key of the client's address: an IPv4 address, or an IPv6 address's /64."""
    host = (scope.get("client") or ("unknown", 0))[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return b"address:" + host.encode()
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        host = str(ipaddress.ip_network(f"{address}/64", strict=False))
    elif isinstance(address, ipaddress.IPv6Address):
        host = str(address.ipv4_mapped)
    return b"address:" + hashlib.sha256(host.encode()).digest()


def unauthorized(scope: Scope, detail: str) -> JSONResponse:
    return problems.response(401, detail, headers={"WWW-Authenticate": "Bearer"}, instance=scope["path"])


def throttled(scope: Scope, wait: int, detail: str) -> JSONResponse:
    return problems.response(
        429, f"{detail}; retry in {wait} s", headers={"Retry-After": str(wait)}, instance=scope["path"]
    )


class RateLimitMiddleware:
    """Pure ASGI middleware: 401, 429 (with ``Retry-After`` in whole seconds) or 503, as problem+json."""

    def __init__(self, app: ASGIApp, settings: Settings, authenticate: Authenticate) -> None:
        self.app, self.authenticate = app, authenticate
        self.per_second, self.burst = float(settings.rate_limit_per_second), float(settings.rate_limit_burst)
        self.failures_per_second = float(settings.auth_failures_per_second)
        self.failure_burst = float(settings.auth_failure_burst)
        self.blocked: OrderedDict[bytes, float] = OrderedDict()  # address → monotonic time it may fail again
        self.lease = lease_size(self.per_second, self.burst)
        self.leases: OrderedDict[bytes, tuple[int, float]] = OrderedDict()  # bucket → (tokens left, until)
        self.taking: dict[bytes, int] = {}  # bucket → its takes in flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            return await self.app(scope, receive, send)
        if scope["path"].startswith(links.PATH_PREFIX) and bearer_token(scope) is None:
            return await self._signed_link(scope, receive, send)
        token = bearer_token(scope)
        try:
            if token is not None:
                # A principal means a bearer token was given, so the request has a caller.
                principal, bucket = await self.authenticate(scope, token), caller_of(scope) or b""
            else:
                principal, bucket = await session_principal(scope)
        except Problem as refused:
            return await problems.response(
                refused.status, refused.detail, headers=refused.headers, instance=scope["path"]
            )(scope, receive, send)
        except UNAVAILABLE:
            return await unavailable(scope)(scope, receive, send)
        if principal is None:
            if not scope["path"].startswith(API):  # a page: its route shows the sign-in page or checks a link
                return await self.app(scope, receive, send)
            detail = "a valid bearer token is required" if token is None else "unknown or revoked token"
            return await self._failed(scope, receive, send, detail)
        scope.setdefault("state", {})[STATE] = principal
        taken = await self._draw(scope, receive, send, bucket)
        if taken is None:
            return
        allowed, wait = taken
        if allowed:
            return await self.app(scope, receive, send)
        await throttled(
            scope, wait, f"rate limit: {self.per_second:g} requests per second (bursts of {self.burst:g}) per token"
        )(scope, receive, send)

    async def _signed_link(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A signed link is its own credential, which its route verifies (S1's exception): no token to
        charge, so the client's address pays, at a token's rate (a mail scanner or a crowd behind one
        proxy opens a published report's link many times)."""
        taken = await self._take(scope, receive, send, b"link:" + address_of(scope), self.per_second, self.burst)
        if taken is None:
            return
        allowed, wait, _ = taken
        if allowed:
            return await self.app(scope, receive, send)
        await throttled(scope, wait, f"rate limit: {self.per_second:g} signed-link requests per second per address")(
            scope, receive, send
        )

    async def _failed(self, scope: Scope, receive: Receive, send: Send, detail: str) -> None:
        address = address_of(scope)
        now = time.monotonic()
        until = self.blocked.get(address)
        if until is not None and until > now:
            return await self._refuse_address(scope, receive, send, math.ceil(until - now))
        self.blocked.pop(address, None)
        taken = await self._take(scope, receive, send, address, self.failures_per_second, self.failure_burst)
        if taken is None:
            return
        allowed, wait, _ = taken
        if allowed:
            return await unauthorized(scope, detail)(scope, receive, send)
        self.blocked[address] = now + wait
        while len(self.blocked) > REMEMBERED:
            self.blocked.popitem(last=False)
        await self._refuse_address(scope, receive, send, wait)

    async def _refuse_address(self, scope: Scope, receive: Receive, send: Send, wait: int) -> None:
        await throttled(
            scope,
            max(1, wait),
            f"too many failed authentications from this address: "
            f"{self.failures_per_second:g} per second (bursts of "
            f"{self.failure_burst:g})",
        )(scope, receive, send)

    async def _draw(self, scope: Scope, receive: Receive, send: Send, bucket: bytes) -> tuple[bool, int] | None:
        """A principal's request: a token of this replica's lease on its bucket, else a new lease. Only one
        take per bucket asks for a lease at a time: requests arriving together (an Alertmanager sending
        every group at once) take one token each meanwhile, or they would empty the bucket tenfold."""
        held = self.leases.pop(bucket, None)
        if held is not None and held[1] > time.monotonic():
            if held[0] > 1:
                self.leases[bucket] = (held[0] - 1, held[1])
            return True, 0
        wanted = 1 if self.taking.get(bucket) else self.lease
        self.taking[bucket] = self.taking.get(bucket, 0) + 1
        try:
            taken = await self._take(scope, receive, send, bucket, self.per_second, self.burst, wanted)
        finally:
            self.taking[bucket] -= 1
            if not self.taking[bucket]:
                del self.taking[bucket]
        if taken is None:
            return None
        allowed, wait, granted = taken
        if granted > 1:
            left, until = self.leases.pop(bucket, (0, 0.0))
            now = time.monotonic()
            self.leases[bucket] = (granted - 1 + (left if until > now else 0), now + LEASE_SECONDS)
            while len(self.leases) > REMEMBERED:
                self.leases.popitem(last=False)
        return allowed, wait

    async def _take(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        bucket: bytes,
        per_second: float,
        burst: float,
        wanted: int = 1,
    ) -> tuple[bool, int, int] | None:
        """(allowed, seconds until the next token, tokens granted), or None when 503 was answered."""
        pool: asyncpg.Pool = scope["app"].state.pool
        try:
            conn = await pool.acquire()
            try:
                allowed, tokens, granted = await conn.fetchrow(TAKE, bucket, per_second, burst, wanted)
            finally:
                await release(pool, conn)
        except UNAVAILABLE:
            await unavailable(scope)(scope, receive, send)
            return None
        return allowed, max(1, math.ceil((1 - tokens) / per_second)), granted


async def forget_full_buckets(pool: asyncpg.Pool, limits: Settings, every: float = 600.0) -> None:
    """Delete buckets that have refilled completely: no row means a full bucket, so nothing changes,
    but the table stays bounded (a row per real token or address used within the refill time)."""
    full_after = max(
        limits.rate_limit_burst / limits.rate_limit_per_second,
        limits.auth_failure_burst / limits.auth_failures_per_second,
    )
    while True:
        try:
            await pool.execute(
                "DELETE FROM rate_limits WHERE refilled_at < now() - make_interval(secs => $1)", full_after
            )
        except UNAVAILABLE as exc:
            log.warning("rate_limit_cleanup_failed", error=repr(exc))
        await asyncio.sleep(every)

"""Optional ``Idempotency-Key`` on every POST (F10): a retry gets the first response, not a second effect.

The first request with a key takes a transaction-scoped advisory lock on it and holds it while the
command runs. PostgreSQL makes a retry with the same key wait on that lock: it then finds the
committed response and replays it, or, when the first attempt failed (5xx, an exception) and
recorded nothing, runs itself. So concurrent retries need no polling, and a replica that dies
mid-request releases its keys with its connection. Keys are scoped to the caller (a hash of the
bearer token) and kept for 24 hours.

Where the work commits, the answer is recorded. A service whose command stores its effect in one
statement (the incident service's event store) takes the request's ``Claim`` (``current_claim``) and
writes the key's row with the answer in that same commit: a crash between the commit and the reply
— of the service or of PostgreSQL — then leaves a retry something to replay, never a second run.
A service whose work is local SQL (the notifier) runs it in ``transaction(pool)``: with a key, that is
a savepoint in the very transaction that holds the key's lock, and the middleware writes the answer
and commits both at once — a failed commit answers 503 with nothing done, a failed work leaves no key.
Otherwise (refusals, endpoints that take neither) this middleware records the response after the
work, in its own commit, as a best effort.

The recorded answer may differ from the one sent: an answer that carries a secret (an issued token)
is recorded with the secret withheld (S11), so no secret is ever at rest in this table.

The cost is one pooled connection per keyed request in flight; requests without a key pay nothing.

This module is what the work sees (its claim, ``transaction``); the middleware that takes the key and
replays its answer is shared/idempotency_middleware.py.
"""

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import asyncpg
from fastapi.responses import JSONResponse
from starlette.types import Scope

from shared import db, logs, problems

log = logs.get(__name__)

# What a retry must see again besides the status and body; others (date, length) are regenerated.
KEPT_HEADERS = (b"content-type", b"etag", b"location")
KEPT_FOR = "24 hours"
# A retry waits this long for the first attempt to finish, then answers 409 (try again later).
WAIT_FOR_FIRST = "30s"

UNAVAILABLE = db.UNAVAILABLE


@dataclass
class Claim:
    """A keyed request's key, for the work to record its answer in its own commit (``Answer``)."""

    caller: bytes
    key: str
    fingerprint: bytes
    answered: bool = False  # set once the work's commit holds the answer: nothing left to record
    # The middleware's connection, in the transaction holding the key's lock (``transaction``).
    conn: asyncpg.Connection | None = None
    worked: bool = False  # the work ran in that transaction: it commits with the answer or not at all

    def answer(self, status: int, headers: dict[str, str], body: bytes) -> "Answer":
        kept = [[name.lower(), value] for name, value in headers.items() if name.lower().encode() in KEPT_HEADERS]
        return Answer(self, status, kept, body)


@dataclass
class Answer:
    """What a retry of the claim's key will be answered: written with the work's effect, in one commit."""

    claim: Claim
    status: int
    headers: list[list[str]]
    body: bytes


class Answered(Exception):
    """The key's answer was committed already (by an earlier attempt whose reply was lost): the work
    stored nothing, and the recorded answer is the one to give."""


_claim: ContextVar["Claim | None"] = ContextVar("idempotency_claim", default=None)


def current_claim() -> Claim | None:
    """The claim the middleware made for the request being handled (its endpoint, dependencies and
    worker threads see it); None without an Idempotency-Key."""
    return _claim.get()


@contextmanager
def claiming(claim: Claim) -> Iterator[Claim]:
    """Make ``claim`` the current one while the middleware runs the request's work."""
    token = _claim.set(claim)
    try:
        yield claim
    finally:
        _claim.reset(token)


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """Where work that is local SQL runs: with an Idempotency-Key, a savepoint of the transaction that
    holds the key, which the middleware commits together with the answer (a refusal raised in here
    undoes the work, and its answer is still recorded); without a key, a transaction of its own."""
    claim = current_claim()
    if claim is None or claim.conn is None:
        async with pool.acquire() as conn, conn.transaction():
            yield conn
        return
    claim.worked = True
    async with claim.conn.transaction():
        # Only the wait for the key is bounded by WAIT_FOR_FIRST, not the work's own waits.
        await claim.conn.execute("SET LOCAL lock_timeout TO DEFAULT")
        yield claim.conn


def caller_of(scope: Scope) -> bytes | None:
    """sha256 of the request's bearer token; None without one (such requests are answered 401 anyway)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            token = token.strip()
            return hashlib.sha256(token).digest() if scheme.lower() == b"bearer" and token else None
    return None


async def release(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    """Give the connection back; one broken by an outage fails its reset, and the pool has then
    closed it already (asyncpg raises that to the releaser, who has nothing left to do)."""
    try:
        await pool.release(conn)
    except UNAVAILABLE as exc:
        log.info("connection_dropped_on_release", error=repr(exc))


def unavailable(scope: Scope) -> JSONResponse:
    return problems.response(
        503,
        "the database is unavailable; nothing was changed, retry shortly",
        headers={"Retry-After": "1"},
        instance=scope["path"],
    )


async def expire_keys(pool: asyncpg.Pool, every: float = 3600.0) -> None:
    """Delete keys past their 24 hours (a lapsed key already counts as new; this only bounds the table)."""
    while True:
        try:
            await pool.execute("DELETE FROM idempotency_keys WHERE expires_at <= now()")
        except UNAVAILABLE as exc:
            log.warning("idempotency_expiry_failed", error=repr(exc))
        await asyncio.sleep(every)

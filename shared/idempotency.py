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
"""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import asyncpg
from fastapi.responses import JSONResponse

from shared import db, logs, problems

log = logs.get(__name__)

KEY_HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255
# What a retry must see again besides the status and body; others (date, length) are regenerated.
KEPT_HEADERS = (b"content-type", b"etag", b"location")
KEPT_FOR = "24 hours"
# A retry waits this long for the first attempt to finish, then answers 409 (try again later).
WAIT_FOR_FIRST = "30s"

UNAVAILABLE = db.UNAVAILABLE

# Per schema, caller and key: the services share a database, and so its advisory locks.
LOCK = (
    "SELECT pg_advisory_xact_lock(('x' || left(encode(sha256(convert_to(current_schema(), 'UTF8') || $1::bytea"
    " || convert_to($2::text, 'UTF8')), 'hex'), 16))::bit(64)::bigint)"
)
RECORDED = (
    "SELECT fingerprint, status, headers, body FROM idempotency_keys "
    "WHERE caller = $1 AND key = $2 AND expires_at > now() AND status IS NOT NULL"
)
RECORD = f"""
INSERT INTO idempotency_keys AS k (caller, key, fingerprint, status, headers, body, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, now() + interval '{KEPT_FOR}')
ON CONFLICT (caller, key) DO UPDATE
    SET fingerprint = excluded.fingerprint, status = excluded.status, headers = excluded.headers,
        body = excluded.body, expires_at = excluded.expires_at
    WHERE k.expires_at <= now() OR k.status IS NULL
"""


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


def caller_of(scope) -> bytes | None:
    """sha256 of the request's bearer token; None without one (such requests are answered 401 anyway)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            token = token.strip()
            return hashlib.sha256(token).digest() if scheme.lower() == b"bearer" and token else None
    return None


async def release(pool: asyncpg.Pool, conn) -> None:
    """Give the connection back; one broken by an outage fails its reset, and the pool has then
    closed it already (asyncpg raises that to the releaser, who has nothing left to do)."""
    try:
        await pool.release(conn)
    except UNAVAILABLE as exc:
        log.info("connection_dropped_on_release", error=repr(exc))


def unavailable(scope) -> JSONResponse:
    return problems.response(
        503,
        "the database is unavailable; nothing was changed, retry shortly",
        headers={"Retry-After": "1"},
        instance=scope["path"],
    )


def _header(scope, wanted: bytes) -> bytes | None:
    return next((value for name, value in scope["headers"] if name == wanted), None)


def _fingerprint(scope, body: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"], body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.digest()


async def _read_body(receive) -> bytes | None:
    """The whole request body; None when the client went away before sending it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive):
    """The request's receive channel again, its body already read by us."""
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class _Captured:
    """The app's response, held back until it is recorded."""

    def __init__(self):
        self.status, self.headers, self.chunks, self.complete = 0, [], [], False

    async def send(self, message) -> None:
        if message["type"] == "http.response.start":
            self.status, self.headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
            self.complete = not message.get("more_body", False)

    @property
    def recordable(self) -> bool:
        # 401 says nothing about the key's owner; 5xx and unfinished responses leave the key retryable.
        return self.complete and self.status < 500 and self.status != 401

    def kept_headers(self) -> list[list[str]]:
        return [
            [name.decode("latin-1"), value.decode("latin-1")]
            for name, value in self.headers
            if name.lower() in KEPT_HEADERS
        ]

    async def forward(self, send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": b"".join(self.chunks)})


async def _replay(send, status: int, headers: list[list[str]], body: bytes) -> None:
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    raw += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class IdempotencyMiddleware:
    """Pure ASGI middleware; the key table lives in the service's schema (``app.state.pool``)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        key, caller = _header(scope, KEY_HEADER), caller_of(scope)
        if key is None or caller is None:
            return await self.app(scope, receive, send)
        key = key.decode("latin-1").strip()
        if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            refusal = problems.response(
                422,
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
                errors=[{"field": "Idempotency-Key", "message": "malformed"}],
                instance=scope["path"],
            )
            return await refusal(scope, receive, send)
        body = await _read_body(receive)
        if body is None:
            return
        pool: asyncpg.Pool = scope["app"].state.pool
        try:
            conn = await pool.acquire(timeout=5)
        except UNAVAILABLE:
            return await unavailable(scope)(scope, receive, send)
        try:
            await self._keyed(conn, scope, _replaying(body, receive), send, caller, key, _fingerprint(scope, body))
        finally:
            await release(pool, conn)

    async def _keyed(self, conn, scope, receive, send, caller: bytes, key: str, fingerprint: bytes) -> None:
        transaction = conn.transaction()
        try:
            await transaction.start()
            await conn.execute(f"SET LOCAL lock_timeout = '{WAIT_FOR_FIRST}'")
            await conn.execute(LOCK, caller, key)
            recorded = await conn.fetchrow(RECORDED, caller, key)
        except asyncpg.LockNotAvailableError:
            await _rollback(transaction)
            busy = problems.response(
                409,
                f"a request with Idempotency-Key {key!r} is still in progress; retry it later",
                headers={"Retry-After": "1"},
                instance=scope["path"],
            )
            return await busy(scope, receive, send)
        except UNAVAILABLE:
            await _rollback(transaction)
            return await unavailable(scope)(scope, receive, send)
        if recorded is not None:
            await _rollback(transaction)
            return await self._answer_retry(scope, receive, send, key, fingerprint, recorded)
        claim = Claim(caller, key, fingerprint, conn=conn)
        captured, claimed = _Captured(), _claim.set(claim)
        try:
            await self.app(scope, receive, captured.send)
        except Answered:
            await _rollback(transaction)
            return await self._answer_committed(conn, scope, receive, send, caller, key, fingerprint)
        except BaseException:
            await _rollback(transaction)
            raise
        finally:
            _claim.reset(claimed)
        if captured.recordable and not claim.answered:
            recorded = await self._record(conn, transaction, caller, key, fingerprint, captured)
            if not recorded and claim.worked:
                return await unavailable(scope)(scope, receive, send)  # the work went with the answer
        else:
            # Releases the lock: the work's own commit holds the answer, if any; work done in this
            # transaction (``transaction``) is undone with it, as its answer is not to be replayed.
            await _rollback(transaction)
        await captured.forward(send)

    async def _answer_committed(self, conn, scope, receive, send, caller: bytes, key: str, fingerprint: bytes) -> None:
        """The work found its key answered by an earlier attempt's commit: replay that answer."""
        try:
            recorded = await conn.fetchrow(RECORDED, caller, key)
        except UNAVAILABLE:
            recorded = None
        if recorded is None:
            return await unavailable(scope)(scope, receive, send)
        await self._answer_retry(scope, receive, send, key, fingerprint, recorded)

    @staticmethod
    async def _answer_retry(scope, receive, send, key: str, fingerprint: bytes, recorded) -> None:
        if recorded["fingerprint"] != fingerprint:
            refusal = problems.response(
                422,
                f"Idempotency-Key {key!r} was already used for another request (method, path or body "
                "differ); use a new key for a new request",
                errors=[{"field": "Idempotency-Key", "message": "reused for another request"}],
                instance=scope["path"],
            )
            return await refusal(scope, receive, send)
        await _replay(send, recorded["status"], recorded["headers"], recorded["body"])

    @staticmethod
    async def _record(conn, transaction, caller: bytes, key: str, fingerprint: bytes, captured: _Captured) -> bool:
        """Whether the answer (and the work done in this transaction, if any) committed."""
        try:
            await conn.execute(
                RECORD, caller, key, fingerprint, captured.status, captured.kept_headers(), b"".join(captured.chunks)
            )
            await transaction.commit()
        except UNAVAILABLE as exc:
            # A command that committed on its own took effect: it is answered, though a retry of
            # this key will run it again.
            log.warning("idempotency_record_failed", error=repr(exc))
            await _rollback(transaction)
            return False
        except BaseException:
            await _rollback(transaction)
            raise
        return True


async def _rollback(transaction) -> None:
    try:
        await transaction.rollback()
    except UNAVAILABLE:
        pass  # a dropped connection has rolled back already


async def expire_keys(pool: asyncpg.Pool, every: float = 3600.0) -> None:
    """Delete keys past their 24 hours (a lapsed key already counts as new; this only bounds the table)."""
    while True:
        try:
            await pool.execute("DELETE FROM idempotency_keys WHERE expires_at <= now()")
        except UNAVAILABLE as exc:
            log.warning("idempotency_expiry_failed", error=repr(exc))
        await asyncio.sleep(every)

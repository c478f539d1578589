"""The ``Idempotency-Key`` middleware (F10): takes a keyed POST's key, replays a recorded answer, or
runs the request and records its answer (the design is in shared/idempotency.py).

Only keyed POSTs with a bearer token are held here; everything else passes through untouched.
"""

import hashlib

import asyncpg
from asyncpg.transaction import Transaction
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import idempotency, logs, problems
from shared.idempotency import (
    KEPT_FOR,
    KEPT_HEADERS,
    UNAVAILABLE,
    Answered,
    Claim,
    caller_of,
    claiming,
    release,
    unavailable,
)

log = logs.get(__name__)

KEY_HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255

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


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    return next((value for name, value in scope["headers"] if name == wanted), None)


def _fingerprint(scope: Scope, body: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"], body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.digest()


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body; None when the client went away before sending it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The request's receive channel again, its body already read by us."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class _Captured:
    """The app's response, held back until it is recorded."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.complete = False

    async def send(self, message: Message) -> None:
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

    async def forward(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": b"".join(self.chunks)})


async def _replay(send: Send, status: int, headers: list[list[str]], body: bytes) -> None:
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    raw += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class IdempotencyMiddleware:
    """Pure ASGI middleware; the key table lives in the service's schema (``app.state.pool``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        raw_key, caller = _header(scope, KEY_HEADER), caller_of(scope)
        if raw_key is None or caller is None:
            return await self.app(scope, receive, send)
        key = raw_key.decode("latin-1").strip()
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
            claim = Claim(caller, key, _fingerprint(scope, body), conn=conn)
            await self._keyed(conn, claim, scope, _replaying(body, receive), send)
        finally:
            await release(pool, conn)

    async def _keyed(self, conn: asyncpg.Connection, claim: Claim, scope: Scope, receive: Receive, send: Send) -> None:
        """Take the claim's key on ``conn``, then replay the key's answer or run the request."""
        caller, key = claim.caller, claim.key
        transaction = conn.transaction()
        try:
            await transaction.start()
            # Read here, not imported: the wait is shared/idempotency's setting (a test shortens it).
            await conn.execute(f"SET LOCAL lock_timeout = '{idempotency.WAIT_FOR_FIRST}'")
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
            return await _answer_retry(scope, receive, send, claim, recorded)
        captured = _Captured()
        try:
            with claiming(claim):
                await self.app(scope, receive, captured.send)
        except Answered:
            await _rollback(transaction)
            return await _answer_committed(conn, scope, receive, send, claim)
        except BaseException:
            await _rollback(transaction)
            raise
        if captured.recordable and not claim.answered:
            recorded = await _record(conn, transaction, claim, captured)
            if not recorded and claim.worked:
                return await unavailable(scope)(scope, receive, send)  # the work went with the answer
        else:
            # Releases the lock: the work's own commit holds the answer, if any; work done in this
            # transaction (``transaction``) is undone with it, as its answer is not to be replayed.
            await _rollback(transaction)
        await captured.forward(send)


async def _answer_committed(conn: asyncpg.Connection, scope: Scope, receive: Receive, send: Send, claim: Claim) -> None:
    """The work found its key answered by an earlier attempt's commit: replay that answer."""
    try:
        recorded = await conn.fetchrow(RECORDED, claim.caller, claim.key)
    except UNAVAILABLE:
        recorded = None
    if recorded is None:
        return await unavailable(scope)(scope, receive, send)
    await _answer_retry(scope, receive, send, claim, recorded)


async def _answer_retry(scope: Scope, receive: Receive, send: Send, claim: Claim, recorded: asyncpg.Record) -> None:
    if recorded["fingerprint"] != claim.fingerprint:
        refusal = problems.response(
            422,
            f"Idempotency-Key {claim.key!r} was already used for another request (method, path or body "
            "differ); use a new key for a new request",
            errors=[{"field": "Idempotency-Key", "message": "reused for another request"}],
            instance=scope["path"],
        )
        return await refusal(scope, receive, send)
    await _replay(send, recorded["status"], recorded["headers"], recorded["body"])


async def _record(conn: asyncpg.Connection, transaction: Transaction, claim: Claim, captured: _Captured) -> bool:
    """Whether the answer (and the work done in this transaction, if any) committed."""
    try:
        await conn.execute(
            RECORD,
            claim.caller,
            claim.key,
            claim.fingerprint,
            captured.status,
            captured.kept_headers(),
            b"".join(captured.chunks),
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


async def _rollback(transaction: Transaction) -> None:
    try:
        await transaction.rollback()
    except UNAVAILABLE:
        pass  # a dropped connection has rolled back already

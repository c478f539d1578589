"""Optional ``Idempotency-Key`` on the notifier's POSTs: a retry gets the first answer, not a second effect.

The key's row is inserted first, in the transaction that does the work, so a concurrent retry
with the same key waits on it and then replays the committed answer; a failed first attempt
rolls back and releases the key. Keys are per caller; the same key with another body is 422.
"""
import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import asyncpg
from fastapi import Header

from services.notifier import readmodel
from shared import db, logs
from shared.problems import Problem

log = logs.get(__name__)
KEPT_FOR = "24 hours"  # as the other services' keys (shared/idempotency.py)

Key = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255,
                                   pattern=r"^[\x21-\x7e]+$")]
Act = Callable[[asyncpg.Connection], Awaitable[tuple[int, dict[str, Any]]]]

CLAIM = ("INSERT INTO answered_requests (caller, key, request_hash, status, body) VALUES ($1, $2, $3, 0, '{}') "
         "ON CONFLICT DO NOTHING RETURNING true")
RECORD = "UPDATE answered_requests SET status = $3, body = $4 WHERE caller = $1 AND key = $2"


async def once(pool: asyncpg.Pool, caller: str, key: str | None, request: Any, act: Act) -> tuple[int, dict]:
    """Run ``act`` in a transaction, at most once per (caller, key); returns (status, body)."""
    async with pool.acquire() as conn:
        if key is None:
            async with conn.transaction():
                return await act(conn)
        fingerprint = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()
        async with conn.transaction():
            if await conn.fetchval(CLAIM, caller, key, fingerprint):
                status, body = await act(conn)
                await conn.execute(RECORD, caller, key, status, body)
                return status, body
        first = await readmodel.remembered(conn, caller, key)
    if first["request_hash"] != fingerprint:
        raise Problem(422, "this Idempotency-Key was used with another request",
                      errors=[{"field": "Idempotency-Key", "message": "reused with another body"}])
    return first["status"], first["body"]


async def forget_old_answers(pool: asyncpg.Pool) -> int:
    """Delete answers past their 24 hours (a retry after that runs again); returns how many went."""
    deleted = await pool.execute(f"DELETE FROM answered_requests WHERE created_at < now() - interval '{KEPT_FOR}'")
    return int(deleted.split()[-1])


async def expire_answers(pool: asyncpg.Pool, every: float = 3600.0) -> None:
    while True:
        try:
            await forget_old_answers(pool)
        except db.UNAVAILABLE as exc:
            log.warning("idempotency_expiry_failed", error=repr(exc))
        await asyncio.sleep(every)

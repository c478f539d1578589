"""When each token was last used (``last_used_at`` in a person's token list), without an event per request.

Each replica writes a token's moment at most once a minute (and the row only moves forward), so a busy
token costs one statement a minute, not one per request. Keyed by the token's id, never the token (S11).
A failed write is logged and forgotten: it must never fail the request it saw.
"""

import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

import asyncpg

from services.incident.organisation import token_id_for
from shared import logs
from shared.projection import token_hash

log = logs.get(__name__)

EVERY_SECONDS = 60.0
# Tokens whose last write this replica remembers (the least recently used forgotten beyond this many).
REMEMBERED = 100_000

RECORD = (
    "INSERT INTO token_usage AS u (token_id, last_used_at) VALUES ($1, now()) "
    "ON CONFLICT (token_id) DO UPDATE SET last_used_at = EXCLUDED.last_used_at "
    "WHERE u.last_used_at < EXCLUDED.last_used_at - interval '1 minute'"
)


class TokenUsage:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool
        self._written: OrderedDict[str, float] = OrderedDict()  # token id -> when this replica last wrote it

    async def seen(self, secret: str) -> None:
        """A request authenticated with ``secret``: recorded unless this replica did so within a minute."""
        token_id, now = str(token_id_for(token_hash(secret))), time.monotonic()
        last = self._written.get(token_id)
        if last is not None and now - last < EVERY_SECONDS:
            return
        self._written[token_id] = now
        self._written.move_to_end(token_id)
        while len(self._written) > REMEMBERED:
            self._written.popitem(last=False)
        try:
            await self.pool.execute(RECORD, token_id)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            log.warning("token_usage_not_recorded", error=repr(exc))

    async def last_used(self, token_ids: Iterable[str]) -> dict[str, datetime]:
        rows = await self.pool.fetch(
            "SELECT token_id, last_used_at FROM token_usage WHERE token_id = ANY($1::text[])", list(token_ids)
        )
        return {row["token_id"]: row["last_used_at"] for row in rows}

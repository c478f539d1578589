"""R17: the action items recorded on post-mortems, learnt from the post-mortem stream (no read call).

A refinement is applied only as a process-refinement item recorded here; one the stream has not
brought yet is waited for a little, since the post-mortem service publishes it just before a
caller may apply it. (jsonb columns come and go as Python values: shared.db's codec.)
"""

import asyncio
import time
from typing import Any

import asyncpg

from shared.contract import Envelope

ADDED = "warroom.postmortem.action_item_added.v1"
POLL_SECONDS = 0.05


async def record(conn: asyncpg.Connection, event: Envelope) -> None:
    """Items are never edited: a redelivery, or a second replica's copy, changes nothing."""
    data = event.data
    await conn.execute(
        "INSERT INTO action_items (incident_id, item_id, kind, change) VALUES ($1, $2, $3, $4::jsonb) "
        "ON CONFLICT (incident_id, item_id) DO NOTHING",
        data["incident_id"],
        data["item_id"],
        data["kind"],
        data.get("change"),
    )


async def _find(pool: asyncpg.Pool, incident_id: str, item_id: int) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        "SELECT kind, change FROM action_items WHERE incident_id = $1 AND item_id = $2", incident_id, item_id
    )
    if row is None:
        return None
    return {"kind": row["kind"], "change": row["change"]}


async def waited(pool: asyncpg.Pool, incident_id: str, item_id: int, seconds: float) -> dict[str, Any] | None:
    """The item, once this service has seen it, waiting up to ``seconds`` (the table is shared by every
    replica, whichever consumed the event); None if it has not come by then."""
    deadline = time.monotonic() + seconds
    while (item := await _find(pool, incident_id, item_id)) is None and time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
    return item


async def recorded_elsewhere(pool: asyncpg.Pool, incident_id: str, item_id: int, change: dict) -> str | None:
    """Another post-mortem on which this very item (number and change) is recorded, if any."""
    return await pool.fetchval(
        "SELECT incident_id FROM action_items WHERE item_id = $1 AND incident_id <> $2 AND change = $3::jsonb LIMIT 1",
        item_id,
        incident_id,
        change,
    )

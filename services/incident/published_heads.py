"""The relay's record of what it published of each incident: the last event's sequence and ``chainhash``.

Written with the relay's checkpoint, in the same statement, once JetStream has acknowledged the batch; read by
the integrity check (integrity.py), which compares the chain recomputed from the store with it: a chain
rewritten after an edit, or an event deleted after it was published, no longer ends where it did.
"""

from typing import Any
from uuid import UUID

import asyncpg
from psycopg.sql import SQL, Identifier

from services.incident.chain import Published
from shared.contract import Envelope

TABLE = "published_heads"
# One statement, one round trip, as the checkpoint alone was: the checkpoint and the heads commit together. A batch
# published again after a crash (the same events) never moves a head back.
_CHECKPOINT = (
    "WITH checkpoint AS (UPDATE relay_checkpoint SET position = $4 WHERE id = 1) "
    "INSERT INTO published_heads AS h (incident_id, sequence, chainhash) "
    "SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[]) "
    "ON CONFLICT (incident_id) DO UPDATE SET sequence = excluded.sequence, chainhash = excluded.chainhash "
    "WHERE h.sequence <= excluded.sequence"
)


def heads(published: list[Envelope]) -> dict[str, tuple[int, str]]:
    """Each incident's last event among ``published`` that carries a ``chainhash``: (sequence, chainhash)."""
    last: dict[str, tuple[int, str]] = {}
    for envelope in published:
        chainhash = envelope.chainhash
        if chainhash is not None and envelope.sequence >= last.get(envelope.subject, (0, ""))[0]:
            last[envelope.subject] = (envelope.sequence, chainhash)
    return last


async def checkpoint(conn: asyncpg.Connection, position: int, published: list[Envelope]) -> None:
    """The relay's checkpoint moved to ``position`` and the heads of what it ``published`` recorded, at once."""
    last = heads(published)
    ids = [UUID(subject) for subject in last]
    await conn.execute(_CHECKPOINT, ids, [s for s, _ in last.values()], [h for _, h in last.values()], position)


def read(cursor: Any, schema: str, incident_id: UUID) -> Published | None:
    """The incident's last published event, through a psycopg cursor on the event store's database."""
    query = SQL("SELECT sequence, chainhash FROM {schema}.{table} WHERE incident_id = %s")
    cursor.execute(query.format(schema=Identifier(schema), table=Identifier(TABLE)), (incident_id,))
    row = cursor.fetchone()
    return None if row is None else Published(row["sequence"], row["chainhash"])

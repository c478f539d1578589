"""The post-mortem's projection: every event about an incident as one timeline row, plus the
organisation (shared.projection). Append-only, so a redelivery or a rebuild changes nothing."""

from typing import Any

import asyncpg

from services.postmortem.timeline import INCIDENT, Entry
from shared.process.hours import hours_of

INSERT = (
    "INSERT INTO timeline (incident_id, at, event_id, sequence, type, actor, data) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING"
)
# Emptied by a rebuild; what people wrote (postmortems, section_edits, action_items) is not a projection.
PROJECTION = ("timeline", "people", "tokens", "process_versions", "aspects")


def _row(e: Entry) -> tuple:
    return e.incident_id, e.at, e.event_id, e.sequence, e.type, e.actor, e.data


async def add_entry(conn: asyncpg.Connection, entry: Entry) -> None:
    # The consumer already skips redeliveries; the unique event id keeps the timeline clean
    # even if the same event ever reached it through another path.
    await conn.execute(INSERT, *_row(entry))


async def add_entries(conn: asyncpg.Connection, entries: list[Entry]) -> None:
    """Many rows in one statement (a rebuild writes thousands a second)."""
    columns = list(zip(*(_row(e) for e in entries), strict=True)) or [()] * 7
    await conn.execute(
        "INSERT INTO timeline (incident_id, at, event_id, sequence, type, actor, data) "
        "SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::bigint[], $5::text[], $6::text[], "
        "$7::jsonb[]) ON CONFLICT (event_id) DO NOTHING",
        *(list(c) for c in columns),
    )


async def entries(conn: asyncpg.Connection, incident_id: str, *, incident_only: bool = False) -> list[Entry]:
    """The incident's timeline in time order (``incident_only``: its own events, for its roles)."""
    rows = await conn.fetch(
        "SELECT incident_id, at, event_id, sequence, type, actor, data FROM timeline "
        "WHERE incident_id = $1 AND ($2::text IS NULL OR type LIKE $2) ORDER BY at, sequence, event_id",
        incident_id,
        f"{INCIDENT}%" if incident_only else None,
    )
    return [Entry(**row) for row in rows]


async def names(conn: asyncpg.Connection, ids: set[str]) -> dict[str, str]:
    rows = await conn.fetch("SELECT id, data->>'name' AS name FROM people WHERE id = ANY($1::text[])", list(ids))
    return {row["id"]: row["name"] for row in rows}


async def hours(conn: asyncpg.Connection, ids: set[str]) -> dict[str, dict[str, Any] | None]:
    """People's hours as the time rules read them (R11), from the people projection."""
    rows = await conn.fetch("SELECT id, data FROM people WHERE id = ANY($1::text[])", list(ids))
    return {row["id"]: hours_of(row["data"]) for row in rows}


async def is_person(conn: asyncpg.Connection, person_id: str) -> bool:
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM people WHERE id = $1)", person_id)


async def clear(conn: asyncpg.Connection) -> None:
    await conn.execute(f"TRUNCATE {', '.join(PROJECTION)}")

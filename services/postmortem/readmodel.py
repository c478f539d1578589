"""The post-mortem read model's SQL: drafts, timelines and participants (see migrations/)."""
from datetime import datetime
from typing import Any

import asyncpg

from services.postmortem.domain import DraftOpened, Entry

# The draft facts an event may change; column names are never taken from anywhere else.
CHANGEABLE = frozenset({"severity", "manager", "resolved_at", "resolved_by", "resolution", "test_plan"})


async def open_draft(conn: asyncpg.Connection, incident_id: str, at: datetime, d: DraftOpened) -> None:
    await conn.execute(
        "INSERT INTO postmortems (incident_id, title, description, aspect, declared_at, declared_by, "
        "initial_severity, severity, manager, coverage_gap, process_version) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10) ON CONFLICT (incident_id) DO NOTHING",
        incident_id, d.title, d.description, d.aspect, at, d.declared_by, d.severity, d.manager,
        d.coverage_gap, d.process_version)


async def change_draft(conn: asyncpg.Connection, incident_id: str, fields: dict[str, Any]) -> None:
    unknown = fields.keys() - CHANGEABLE
    if unknown:
        raise ValueError(f"not a changeable post-mortem fact: {sorted(unknown)}")
    names = sorted(fields)
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(names, start=2))
    await conn.execute(f"UPDATE postmortems SET {assignments} WHERE incident_id = $1",
                       incident_id, *(fields[column] for column in names))


async def add_entry(conn: asyncpg.Connection, e: Entry) -> None:
    # The consumer already skips redeliveries; the unique event id keeps the timeline clean
    # even if the same event ever reached it through another path.
    await conn.execute(
        "INSERT INTO timeline (incident_id, at, event_id, sequence, type, actor, data) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING",
        e.incident_id, e.at, e.event_id, e.sequence, e.type, e.actor, e.data)


async def start_role(conn: asyncpg.Connection, incident_id: str, person: str, role: str, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO participants (incident_id, person, role, started_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING", incident_id, person, role, at)


async def end_role(conn: asyncpg.Connection, incident_id: str, role: str, person: str | None,
                   at: datetime) -> None:
    await conn.execute(
        "UPDATE participants SET ended_at = $4 WHERE incident_id = $1 AND role = $2 "
        "AND ($3::text IS NULL OR person = $3) AND ended_at IS NULL", incident_id, role, person, at)


async def draft(conn: asyncpg.Connection, incident_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM postmortems WHERE incident_id = $1", incident_id)
    return None if row is None else dict(row)


async def timeline(conn: asyncpg.Connection, incident_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT at, type, actor, data FROM timeline WHERE incident_id = $1 ORDER BY at, sequence, event_id",
        incident_id)
    return [dict(row) for row in rows]


async def participants(conn: asyncpg.Connection, incident_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT person, role, started_at, ended_at FROM participants WHERE incident_id = $1 "
        "ORDER BY started_at, person, role", incident_id)
    return [dict(row) for row in rows]


async def names(conn: asyncpg.Connection, ids: set[str]) -> dict[str, str]:
    rows = await conn.fetch("SELECT id, data->>'name' AS name FROM people WHERE id = ANY($1::text[])", list(ids))
    return {row["id"]: row["name"] for row in rows}

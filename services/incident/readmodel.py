"""The incident list: a projection of the service's own stream, for GET /v1/incidents."""

import asyncpg

from shared.contract import Envelope

_CHANGES = {
    "warroom.incident.severity_changed.v1": ("severity", "severity"),
    "warroom.incident.manager_changed.v1": ("manager", "manager"),
}
_STATUS = {
    "warroom.incident.resolved.v1": "resolved",
    "warroom.incident.reopened.v1": "open",
    "warroom.incident.closed.v1": "closed",
}


async def apply(conn: asyncpg.Connection, event: Envelope) -> None:
    if event.type == "warroom.incident.declared.v1":
        data = event.data
        await conn.execute(
            "INSERT INTO incident_list (id, position, title, aspect, status, severity, manager, declared_at) "
            "VALUES ($1, $2, $3, $4, 'open', $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            event.subject,
            event.position,
            data["title"],
            data["aspect"],
            data["severity"],
            data["manager"],
            event.time,
        )
    elif event.type in _CHANGES:
        column, field = _CHANGES[event.type]
        await conn.execute(f"UPDATE incident_list SET {column} = $2 WHERE id = $1", event.subject, event.data[field])
    elif event.type in _STATUS:
        await conn.execute("UPDATE incident_list SET status = $2 WHERE id = $1", event.subject, _STATUS[event.type])


async def incidents(
    pool: asyncpg.Pool, status: str | None, severity: int | None, before: int | None, limit: int
) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT id, position, title, aspect, status, severity, manager, declared_at FROM incident_list "
        "WHERE ($1::text IS NULL OR status = $1) AND ($2::int IS NULL OR severity = $2) "
        "AND ($3::bigint IS NULL OR position < $3) ORDER BY position DESC LIMIT $4",
        status,
        severity,
        before,
        limit,
    )


async def declared_aspects(pool: asyncpg.Pool) -> set[str]:
    """Every aspect an incident was declared for (R10's coverage report)."""
    return {row["aspect"] for row in await pool.fetch("SELECT DISTINCT aspect FROM incident_list")}

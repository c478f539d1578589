"""The incident list: a projection of the service's own stream, for GET /v1/incidents.

``apply`` takes one event; ``apply_many`` a consumer's batch in two statements, whatever its size: a relay
catching up on a long history (a busy incident's severity changed thousands of times) would otherwise cost
the worker an UPDATE per event on the event loop that serves its requests (bench p1-relay)."""

from collections.abc import Sequence

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


async def apply_many(conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
    """The batch's effect, as ``apply`` on each in turn: its declarations inserted, then each incident's
    columns set to the last value its events in the batch gave them (one aggregate's events come in order)."""
    declared = [event for event in events if event.type == "warroom.incident.declared.v1"]
    if declared:
        await conn.execute(
            "INSERT INTO incident_list (id, position, title, aspect, status, severity, manager, declared_at) "
            "SELECT id, position, title, aspect, 'open', severity, manager, declared_at FROM unnest("
            "$1::text[], $2::bigint[], $3::text[], $4::text[], $5::int[], $6::text[], $7::timestamptz[]) "
            "AS d(id, position, title, aspect, severity, manager, declared_at) ON CONFLICT (id) DO NOTHING",
            *zip(
                *(
                    (
                        e.subject,
                        e.position,
                        e.data["title"],
                        e.data["aspect"],
                        e.data["severity"],
                        e.data["manager"],
                        e.time,
                    )
                    for e in declared
                ),
                strict=True,
            ),
        )
    changed: dict[str, dict[str, object]] = {}
    for event in events:
        if event.type in _CHANGES:
            column, field = _CHANGES[event.type]
            changed.setdefault(event.subject, {})[column] = event.data[field]
        elif event.type in _STATUS:
            changed.setdefault(event.subject, {})["status"] = _STATUS[event.type]
    if changed:
        ids = list(changed)
        await conn.execute(
            "UPDATE incident_list AS l SET severity = COALESCE(c.severity, l.severity), "
            "manager = COALESCE(c.manager, l.manager), status = COALESCE(c.status, l.status) "
            "FROM unnest($1::text[], $2::int[], $3::text[], $4::text[]) AS c(id, severity, manager, status) "
            "WHERE l.id = c.id",
            ids,
            *([changed[i].get(column) for i in ids] for column in ("severity", "manager", "status")),
        )


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

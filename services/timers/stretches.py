"""The timers service's SQL for people's stretches on incidents: how long each managed (R05) or worked (R19),
across every incident, one row per person, role, incident and stretch."""

from datetime import datetime

import asyncpg

from services.timers.memory_rows import Span
from shared.process.timing import Stretch


async def start_stretch(conn: asyncpg.Connection, person: str, role: str, incident_id: str, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO stretches (person, role, incident_id, started_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (person, role, incident_id) WHERE ended_at IS NULL DO NOTHING",
        person,
        role,
        incident_id,
        at,
    )


async def end_stretch(conn: asyncpg.Connection, person: str, role: str, incident_id: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE stretches SET ended_at = $4 WHERE person = $1 AND role = $2 AND incident_id = $3 AND ended_at IS NULL",
        person,
        role,
        incident_id,
        at,
    )


async def end_stretches(conn: asyncpg.Connection, incident_id: str, at: datetime) -> None:
    """Nobody manages or works on a resolved or closed incident any more."""
    await conn.execute(
        "UPDATE stretches SET ended_at = $2 WHERE incident_id = $1 AND ended_at IS NULL", incident_id, at
    )


async def stretches(conn: asyncpg.Connection, person: str, role: str, since: datetime) -> list[Stretch]:
    """The person's stretches in the role on any incident, those lasting or ended after ``since``."""
    rows = await conn.fetch(
        "SELECT started_at, ended_at FROM stretches WHERE person = $1 AND role = $2 "
        "AND (ended_at IS NULL OR ended_at > $3) ORDER BY started_at",
        person,
        role,
        since,
    )
    return [Stretch(row["started_at"], row["ended_at"]) for row in rows]


async def lasting_stretches(conn: asyncpg.Connection, incident_ids: list[str]) -> list[asyncpg.Record]:
    """Every stretch still lasting on these incidents, anyone's, in any role."""
    return await conn.fetch(
        "SELECT person, role, incident_id, started_at FROM stretches "
        "WHERE incident_id = ANY($1::text[]) AND ended_at IS NULL",
        incident_ids,
    )


async def stretches_of(conn: asyncpg.Connection, looks: list[tuple[str, str, datetime]]) -> list[asyncpg.Record]:
    """``stretches`` for many looks at once, each a (person, role, since), with the incident of each stretch."""
    return await conn.fetch(
        "SELECT s.person, s.role, s.incident_id, s.started_at, s.ended_at "
        "FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS b(person, role, since) "
        "JOIN stretches s ON s.person = b.person AND s.role = b.role "
        "WHERE s.ended_at IS NULL OR s.ended_at > b.since ORDER BY s.started_at",
        *(list(column) for column in zip(*looks, strict=True)),
    )


async def write_stretches(conn: asyncpg.Connection, ended: list[Span], started: list[Span]) -> None:
    """Lasting stretches that have ended (each person, role and incident has one lasting at most), then new
    stretches, ended or not: ``end_stretch`` and ``start_stretch`` for many."""
    if ended:
        await conn.execute(
            "UPDATE stretches s SET ended_at = c.ended_at "
            "FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) "
            "     AS c(person, role, incident_id, ended_at) "
            "WHERE s.person = c.person AND s.role = c.role AND s.incident_id = c.incident_id AND s.ended_at IS NULL",
            *([getattr(span, column) for span in ended] for column in ("person", "role", "incident_id", "end")),
        )
    if started:
        await conn.execute(
            "INSERT INTO stretches (person, role, incident_id, started_at, ended_at) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])",
            *(
                [getattr(span, column) for span in started]
                for column in ("person", "role", "incident_id", "start", "end")
            ),
        )

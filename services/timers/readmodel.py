"""The timers service's SQL: the incidents it follows, the timers, and how far it has read."""
from datetime import datetime

import asyncpg

from services.timers.domain import Plan

TIMER_COLUMNS = "id, kind, incident_id, person, due_at, state, fired_at, detail"


# --- incidents ---

async def add_incident(conn: asyncpg.Connection, incident_id: str, process_version: int, manager: str) -> None:
    await conn.execute(
        "INSERT INTO incidents (id, process_version, manager, status) VALUES ($1, $2, $3, 'open') "
        "ON CONFLICT (id) DO NOTHING", incident_id, process_version, manager)


async def incident(conn: asyncpg.Connection, incident_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, process_version, manager, status FROM incidents WHERE id = $1", incident_id)


async def set_manager(conn: asyncpg.Connection, incident_id: str, manager: str) -> None:
    await conn.execute("UPDATE incidents SET manager = $2 WHERE id = $1", incident_id, manager)


async def set_status(conn: asyncpg.Connection, incident_id: str, status: str) -> None:
    await conn.execute("UPDATE incidents SET status = $2 WHERE id = $1", incident_id, status)


# --- timers ---

# A planned timer is announced on this channel when its transaction commits, so the
# scheduler (of any replica) can recompute how long to sleep.
SCHEDULED_CHANNEL = "warroom_timers_scheduled"


async def apply_plan(conn: asyncpg.Connection, plan: Plan) -> None:
    for cancel in plan.cancel:
        await conn.execute(
            "UPDATE timers SET state = 'cancelled' WHERE incident_id = $1 AND state = 'pending' "
            "AND ($2::text[] IS NULL OR kind = ANY($2)) AND ($3::text IS NULL OR person = $3)",
            cancel.incident_id, None if cancel.kinds is None else sorted(cancel.kinds), cancel.person)
    if plan.schedule:
        # A timer already known (redelivery, replay) keeps its state: a fired one stays fired.
        await conn.executemany(
            "INSERT INTO timers (id, kind, incident_id, person, due_at, detail) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
            [(t.id, t.kind, t.incident_id, t.person, t.due_at, dict(t.detail)) for t in plan.schedule])
        await conn.execute("SELECT pg_notify($1, '')", SCHEDULED_CHANNEL)


async def timers_of(conn: asyncpg.Connection, incident_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {TIMER_COLUMNS} FROM timers WHERE incident_id = $1 ORDER BY due_at, kind, id", incident_id)


async def lock_due(conn: asyncpg.Connection, until: datetime, limit: int,
                   incident_id: str | None = None) -> list[asyncpg.Record]:
    """Pending timers due by ``until``, locked; rows another transaction is firing are skipped."""
    return await conn.fetch(
        f"SELECT {TIMER_COLUMNS} FROM timers WHERE state = 'pending' AND due_at <= $1 "
        "AND ($3::text IS NULL OR incident_id = $3) "
        "ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED", until, limit, incident_id)


async def mark_fired(conn: asyncpg.Connection, ids: list, fired_at: datetime) -> None:
    await conn.execute("UPDATE timers SET state = 'fired', fired_at = $2 WHERE id = ANY($1::uuid[])",
                       ids, fired_at)


async def next_due(conn: asyncpg.Connection) -> datetime | None:
    return await conn.fetchval("SELECT min(due_at) FROM timers WHERE state = 'pending'")


# --- progress through the incident stream ---

async def advance_applied_until(conn: asyncpg.Connection, consumer: str, event_time: datetime) -> None:
    await conn.execute(
        "INSERT INTO applied_until (consumer, event_time) VALUES ($1, $2) ON CONFLICT (consumer) "
        "DO UPDATE SET event_time = GREATEST(applied_until.event_time, EXCLUDED.event_time)",
        consumer, event_time)


async def applied_until(conn: asyncpg.Connection, consumer: str) -> datetime | None:
    return await conn.fetchval("SELECT event_time FROM applied_until WHERE consumer = $1", consumer)


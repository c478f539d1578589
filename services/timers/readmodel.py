"""The timers service's SQL: the incidents it follows, their workers and checklist, the timers (people's
stretches on them: stretches.py)."""

from collections.abc import Iterable
from datetime import datetime

import asyncpg

from services.timers.domain import Plan, Timer
from services.timers.memory_rows import Row

TIMER_COLUMNS = "t.id, t.kind, t.incident_id, t.person, t.due_at, t.state, t.fired_at, t.detail, t.every"


# --- incidents ---


def new_incident(incident_id: str, process_version: int, severity: int, manager: str, at: datetime) -> dict:
    """The row ``add_incident`` inserts, as the stores that keep rows in memory hold it (store.py, memory.py)."""
    return {
        "id": incident_id,
        "process_version": process_version,
        "severity": severity,
        "manager": manager,
        "status": "open",
        "level_since": at,
        "public_since": at,
    }


async def add_incident(
    conn: asyncpg.Connection, incident_id: str, process_version: int, severity: int, manager: str, at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO incidents (id, process_version, severity, manager, status, level_since, public_since) "
        "VALUES ($1, $2, $3, $4, 'open', $5, $5) ON CONFLICT (id) DO NOTHING",
        incident_id,
        process_version,
        severity,
        manager,
        at,
    )


async def lock_incident(conn: asyncpg.Connection, incident_id: str) -> asyncpg.Record | None:
    """The incident, locked until commit: the scheduler skips firing its timers meanwhile, so a
    cadence's next occurrence, inserted as one fires, is never left behind by a cancellation."""
    return await conn.fetchrow(
        "SELECT id, process_version, severity, manager, status, level_since, public_since "
        "FROM incidents WHERE id = $1 FOR UPDATE",
        incident_id,
    )


async def lock_incidents(conn: asyncpg.Connection, incident_ids: list[str]) -> list[asyncpg.Record]:
    """``lock_incident`` for many, locked in id order (as any other transaction locking several does)."""
    return await conn.fetch(
        "SELECT id, process_version, severity, manager, status, level_since, public_since "
        "FROM incidents WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
        incident_ids,
    )


async def set_manager(conn: asyncpg.Connection, incident_id: str, manager: str) -> None:
    await conn.execute("UPDATE incidents SET manager = $2 WHERE id = $1", incident_id, manager)


async def set_status(conn: asyncpg.Connection, incident_id: str, status: str) -> None:
    await conn.execute("UPDATE incidents SET status = $2 WHERE id = $1", incident_id, status)


async def set_level(conn: asyncpg.Connection, incident_id: str, severity: int, at: datetime) -> None:
    await conn.execute("UPDATE incidents SET severity = $2, level_since = $3 WHERE id = $1", incident_id, severity, at)


async def set_public_since(conn: asyncpg.Connection, incident_id: str, at: datetime) -> None:
    await conn.execute("UPDATE incidents SET public_since = $2 WHERE id = $1", incident_id, at)


# --- workers and checklist ---


async def workers(conn: asyncpg.Connection, incident_id: str) -> dict[str, datetime]:
    """Each worker of the incident with their last status request, update or joining."""
    rows = await conn.fetch(
        "SELECT person, status_since FROM workers WHERE incident_id = $1 ORDER BY person", incident_id
    )
    return {row["person"]: row["status_since"] for row in rows}


async def add_worker(conn: asyncpg.Connection, incident_id: str, person: str, at: datetime) -> bool:
    """False when they already were a worker (nothing changes then)."""
    return (
        await conn.fetchval(
            "INSERT INTO workers (incident_id, person, status_since) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING RETURNING true",
            incident_id,
            person,
            at,
        )
        or False
    )


async def remove_worker(conn: asyncpg.Connection, incident_id: str, person: str) -> bool:
    """False when they were not a worker."""
    return (
        await conn.fetchval(
            "DELETE FROM workers WHERE incident_id = $1 AND person = $2 RETURNING true", incident_id, person
        )
        or False
    )


async def set_status_since(conn: asyncpg.Connection, incident_id: str, people: Iterable[str], at: datetime) -> None:
    await conn.execute(
        "UPDATE workers SET status_since = $3 WHERE incident_id = $1 AND person = ANY($2::text[])",
        incident_id,
        list(people),
        at,
    )


async def step_done(conn: asyncpg.Connection, incident_id: str, level: int, step: str) -> None:
    await conn.execute(
        "INSERT INTO steps_done (incident_id, level, step) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        incident_id,
        level,
        step,
    )


async def steps_done(conn: asyncpg.Connection, incident_id: str) -> set[str]:
    """Steps done at any level: the incident service takes each step once per incident (R14)."""
    rows = await conn.fetch("SELECT step FROM steps_done WHERE incident_id = $1", incident_id)
    return {row["step"] for row in rows}


# --- timers ---

# A planned timer is announced on this channel when its transaction commits (a trigger on
# timers does it), so the scheduler of any replica can recompute how long to sleep.
SCHEDULED_CHANNEL = "warroom_timers_scheduled"


async def apply_plan(conn: asyncpg.Connection, plan: Plan) -> None:
    for incident_id in dict.fromkeys(cancel.incident_id for cancel in plan.cancel):
        # An incident's cancellations in one statement: a timer matching any of them is cancelled.
        await conn.execute(
            "UPDATE timers t SET state = 'cancelled' WHERE t.incident_id = $1 AND t.state = 'pending' "
            "AND EXISTS (SELECT FROM jsonb_to_recordset($2::jsonb) AS c(kinds text[], person text, step text, "
            "keep uuid[]) WHERE (c.kinds IS NULL OR t.kind = ANY(c.kinds)) "
            "AND (c.person IS NULL OR t.person = c.person) "
            "AND (c.step IS NULL OR t.detail ->> 'step' = c.step) AND NOT t.id = ANY(c.keep))",
            incident_id,
            [
                {
                    "kinds": None if c.kinds is None else sorted(c.kinds),
                    "person": c.person,
                    "step": c.step,
                    "keep": sorted(c.keep),
                }
                for c in plan.cancel
                if c.incident_id == incident_id
            ],
        )
    if plan.schedule:
        await schedule(conn, plan.schedule)


async def schedule(conn: asyncpg.Connection, timers: Iterable[Timer]) -> None:
    # A timer already known (redelivery, replay, a re-plan keeping it) keeps its state: a fired one stays fired.
    await conn.executemany(
        "INSERT INTO timers (id, kind, incident_id, person, due_at, detail, every) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        [(t.id, t.kind, t.incident_id, t.person, t.due_at, dict(t.detail), t.every) for t in timers],
    )


async def cadence_since(conn: asyncpg.Connection, incident_id: str, kind: str) -> datetime | None:
    """The last occurrence of the incident's pending ``kind`` cadence: its next one less its interval
    (None: no such cadence is pending)."""
    return await conn.fetchval(
        "SELECT due_at - every FROM timers WHERE incident_id = $1 AND kind = $2 AND state = 'pending' "
        "AND every IS NOT NULL ORDER BY due_at LIMIT 1",
        incident_id,
        kind,
    )


def timer(row: asyncpg.Record) -> Timer:
    return Timer(
        str(row["id"]), row["kind"], row["incident_id"], row["person"], row["due_at"], row["detail"], row["every"]
    )


async def timers_of(conn: asyncpg.Connection, incident_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {TIMER_COLUMNS} FROM timers t WHERE t.incident_id = $1 ORDER BY t.due_at, t.kind, t.id", incident_id
    )


async def lock_due(
    conn: asyncpg.Connection, until: datetime, limit: int, incident_id: str | None = None
) -> list[asyncpg.Record]:
    """Pending timers of open incidents due by ``until``, locked with their incident; a timer another
    transaction is firing, or whose incident another transaction is changing, is skipped."""
    return await conn.fetch(
        f"SELECT {TIMER_COLUMNS} FROM timers t JOIN incidents i ON i.id = t.incident_id "
        "WHERE t.state = 'pending' AND t.due_at <= $1 AND i.status = 'open' "
        "AND ($3::text IS NULL OR t.incident_id = $3) "
        "ORDER BY t.due_at LIMIT $2 FOR UPDATE OF t SKIP LOCKED FOR SHARE OF i SKIP LOCKED",
        until,
        limit,
        incident_id,
    )


async def mark_fired(conn: asyncpg.Connection, ids: list, fired_at: datetime) -> None:
    await conn.execute("UPDATE timers SET state = 'fired', fired_at = $2 WHERE id = ANY($1::uuid[])", ids, fired_at)


async def workers_of_incidents(conn: asyncpg.Connection, incident_ids: list[str]) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT incident_id, person, status_since FROM workers WHERE incident_id = ANY($1::text[])", incident_ids
    )


async def steps_of_incidents(conn: asyncpg.Connection, incident_ids: list[str]) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT incident_id, level, step FROM steps_done WHERE incident_id = ANY($1::text[])", incident_ids
    )


async def insert_incidents(conn: asyncpg.Connection, incidents: list[dict]) -> None:
    """``add_incident`` for many rows as they now stand (``new_incident``'s, changed since)."""
    if incidents:
        await conn.execute(
            "INSERT INTO incidents (id, process_version, severity, manager, status, level_since, public_since) "
            "SELECT * FROM unnest($1::text[], $2::integer[], $3::integer[], $4::text[], $5::text[], "
            "                     $6::timestamptz[], $7::timestamptz[]) "
            "ON CONFLICT (id) DO NOTHING",
            *(
                [incident[column] for incident in incidents]
                for column in ("id", "process_version", "severity", "manager", "status", "level_since", "public_since")
            ),
        )


async def write_incidents(conn: asyncpg.Connection, incidents: list[dict]) -> None:
    """These incidents' rows as they now stand."""
    if incidents:
        await conn.execute(
            "UPDATE incidents i SET manager = c.manager, status = c.status, severity = c.severity, "
            "level_since = c.level_since, public_since = c.public_since "
            "FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::timestamptz[], $6::timestamptz[]) "
            "AS c(id, manager, status, severity, level_since, public_since) WHERE i.id = c.id",
            *(
                [incident[column] for incident in incidents]
                for column in ("id", "manager", "status", "severity", "level_since", "public_since")
            ),
        )


async def write_workers(conn: asyncpg.Connection, workers: dict[str, dict[str, datetime]]) -> None:
    """These incidents' workers as they now stand (each incident's whole set)."""
    if workers:
        await conn.execute("DELETE FROM workers WHERE incident_id = ANY($1::text[])", list(workers))
        rows = [(incident, person, since) for incident, people in workers.items() for person, since in people.items()]
        await conn.execute(
            "INSERT INTO workers (incident_id, person, status_since) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])",
            [row[0] for row in rows],
            [row[1] for row in rows],
            [row[2] for row in rows],
        )


async def write_steps(conn: asyncpg.Connection, steps: list[tuple[str, int, str]]) -> None:
    if steps:
        await conn.execute(
            "INSERT INTO steps_done (incident_id, level, step) "
            "SELECT * FROM unnest($1::text[], $2::integer[], $3::text[]) ON CONFLICT DO NOTHING",
            [s[0] for s in steps],
            [s[1] for s in steps],
            [s[2] for s in steps],
        )


async def pending_of_incidents(conn: asyncpg.Connection, incident_ids: list[str]) -> list[asyncpg.Record]:
    """The pending timers of these incidents (the caller holds the incidents' locks)."""
    return await conn.fetch(
        f"SELECT {TIMER_COLUMNS} FROM timers t WHERE t.incident_id = ANY($1::text[]) AND t.state = 'pending'",
        incident_ids,
    )


async def ended_of_incidents(conn: asyncpg.Connection, incident_ids: list[str]) -> list[asyncpg.Record]:
    """The incident and id of each of these incidents' timers that fired or was cancelled: nothing else of one
    is looked at again."""
    return await conn.fetch(
        "SELECT incident_id, id FROM timers WHERE incident_id = ANY($1::text[]) AND state <> 'pending'", incident_ids
    )


async def write_timers(conn: asyncpg.Connection, new: list[Row], changed: list[Row]) -> None:
    """New timers as they stand (a timer already there keeps its row), and known ones' new states."""
    if new:
        await conn.executemany(
            "INSERT INTO timers (id, kind, incident_id, person, due_at, detail, every, state, fired_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
            [
                (t.id, t.kind, t.incident_id, t.person, t.due_at, dict(t.detail), t.every, row.state, row.fired_at)
                for row in new
                for t in (row.timer,)
            ],
        )
    if changed:
        await conn.execute(
            "UPDATE timers t SET state = c.state, fired_at = c.fired_at "
            "FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS c(id, state, fired_at) WHERE t.id = c.id",
            [row.timer.id for row in changed],
            [row.state for row in changed],
            [row.fired_at for row in changed],
        )


async def next_due(conn: asyncpg.Connection) -> datetime | None:
    return await conn.fetchval("SELECT min(due_at) FROM timers WHERE state = 'pending'")


# --- progress through the incident stream ---


async def advance_applied_until(conn: asyncpg.Connection, consumer: str, event_time: datetime) -> None:
    await conn.execute(
        "INSERT INTO applied_until (consumer, event_time) VALUES ($1, $2) ON CONFLICT (consumer) "
        "DO UPDATE SET event_time = GREATEST(applied_until.event_time, EXCLUDED.event_time)",
        consumer,
        event_time,
    )


async def applied_until(conn: asyncpg.Connection, consumer: str) -> datetime | None:
    return await conn.fetchval("SELECT event_time FROM applied_until WHERE consumer = $1", consumer)

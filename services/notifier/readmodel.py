"""The notifier's read model: the incidents it names, the people it reaches, its subscriptions."""

from dataclasses import fields
from datetime import datetime
from typing import Any

import asyncpg

from services.notifier.incidents import IncidentView, StatusUpdate, Summary

COLUMNS = tuple(f.name for f in fields(IncidentView))
_ARRAYS = {"smes", "workers", "observers", "participants"}
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM incidents"
_UPSERT = (
    f"INSERT INTO incidents ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join(f'${n}' for n in range(1, len(COLUMNS) + 1))}) "
    f"ON CONFLICT (id) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "id")
)

# The projection's tables, emptied by a rebuild before it replays the stream.
PROJECTION = ("incidents", "status_updates", "people", "tokens", "process_versions", "aspects")


# --- incidents ---


def _incident(row: asyncpg.Record) -> IncidentView:
    values: dict[str, Any] = {c: tuple(row[c]) if c in _ARRAYS else row[c] for c in COLUMNS}  # asyncpg's are untyped
    return IncidentView(**values)


def _row(incident: IncidentView) -> tuple:
    # Not dataclasses.astuple: it deep-copies every value, a cost a rebuild pays per saved incident.
    return tuple(list(v) if isinstance(v, tuple) else v for v in (getattr(incident, c) for c in COLUMNS))


async def incident(conn: asyncpg.Connection, incident_id: str) -> IncidentView | None:
    row = await conn.fetchrow(f"{_SELECT} WHERE id = $1", incident_id)
    return None if row is None else _incident(row)


async def incidents(conn: asyncpg.Connection, ids: list[str]) -> dict[str, IncidentView]:
    return {row["id"]: _incident(row) for row in await conn.fetch(f"{_SELECT} WHERE id = ANY($1)", ids)}


async def save(conn: asyncpg.Connection, incident: IncidentView) -> None:
    await conn.execute(_UPSERT, *_row(incident))


async def save_many(conn: asyncpg.Connection, changed: list[IncidentView]) -> None:
    await conn.executemany(_UPSERT, [_row(incident) for incident in changed])


async def clear_projection(conn: asyncpg.Connection) -> None:
    await conn.execute(f"TRUNCATE {', '.join(PROJECTION)}")


# --- status updates and the observers' summaries of them (R06, R07) ---

_UPDATE_COLUMNS = tuple(f.name for f in fields(StatusUpdate))
_INSERT_UPDATE = (
    f"INSERT INTO status_updates ({', '.join(_UPDATE_COLUMNS)}) "
    f"VALUES ({', '.join(f'${n}' for n in range(1, len(_UPDATE_COLUMNS) + 1))}) ON CONFLICT DO NOTHING"
)


async def save_status_updates(conn: asyncpg.Connection, updates: list[StatusUpdate]) -> None:
    if updates:
        await conn.executemany(_INSERT_UPDATE, [tuple(getattr(u, c) for c in _UPDATE_COLUMNS) for u in updates])


async def unsummarised(conn: asyncpg.Connection, incident_id: str) -> Summary:
    """The incident's status updates after those its previous observer summary covered."""
    last = await conn.fetchrow(
        "SELECT through_sequence, at FROM observer_summaries WHERE incident_id = $1 "
        "ORDER BY through_sequence DESC, at DESC LIMIT 1",
        incident_id,
    )
    rows = await conn.fetch(
        f"SELECT {', '.join(_UPDATE_COLUMNS)} FROM status_updates "
        "WHERE incident_id = $1 AND sequence > $2 ORDER BY sequence",
        incident_id,
        last["through_sequence"] if last else 0,
    )
    return Summary(tuple(StatusUpdate(**row) for row in rows), last["at"] if last else None)


async def record_summary(
    conn: asyncpg.Connection, event_id: str, incident_id: str, summary: Summary, at: datetime
) -> None:
    """The summary taken for this timer covers everything up to its last update (or what the previous did)."""
    await conn.execute(
        "INSERT INTO observer_summaries (event_id, incident_id, through_sequence, at) "
        "VALUES ($1, $2, greatest($3, (SELECT coalesce(max(through_sequence), 0) FROM observer_summaries "
        "                              WHERE incident_id = $2)), $4) ON CONFLICT DO NOTHING",
        event_id,
        incident_id,
        summary.through,
        at,
    )


# --- people ---


# Set in a person as ``people`` reads them when they are deactivated: still named in messages, told nothing.
DEACTIVATED = "deactivated"


async def people(conn: asyncpg.Connection, ids: list[str]) -> dict[str, dict]:
    rows = await conn.fetch("SELECT id, data, active FROM people WHERE id = ANY($1)", ids)
    return {row["id"]: row["data"] if row["active"] else {**row["data"], DEACTIVATED: True} for row in rows}


async def group_members(conn: asyncpg.Connection, group: str) -> list[dict]:
    """Every person whose ``groups`` contains ``group``, in a stable order."""
    rows = await conn.fetch("SELECT data FROM people WHERE data->'groups' ? $1 ORDER BY id", group)
    return [row["data"] for row in rows]


# --- subscriptions ---

_SUBSCRIPTION = (
    "SELECT s.id, s.url, s.event_types, s.created_at, d.disabled_at "
    "FROM subscriptions s LEFT JOIN disabled_endpoints d ON d.endpoint = 'subscription:' || s.id"
)


async def add_subscription(
    conn: asyncpg.Connection, *, id: str, url: str, event_types: list[str], secret: str, by: str, at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO subscriptions (id, url, event_types, secrets, created_by, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        id,
        url,
        event_types,
        [secret],
        by,
        at,
    )


async def subscriptions(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"{_SUBSCRIPTION} ORDER BY s.created_at, s.id")


async def subscription(conn: asyncpg.Connection, subscription_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"{_SUBSCRIPTION} WHERE s.id = $1", subscription_id)


async def active_subscriptions(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The subscriptions still taking events (not disabled by a 410)."""
    return await conn.fetch(f"{_SUBSCRIPTION} WHERE d.disabled_at IS NULL ORDER BY s.created_at, s.id")


async def subscription_secrets(conn: asyncpg.Connection, subscription_id: str) -> list[str] | None:
    return await conn.fetchval("SELECT secrets FROM subscriptions WHERE id = $1", subscription_id)


async def set_subscription_secrets(conn: asyncpg.Connection, subscription_id: str, secrets: list[str]) -> bool:
    done = await conn.execute("UPDATE subscriptions SET secrets = $2 WHERE id = $1", subscription_id, secrets)
    return done != "UPDATE 0"


async def delete_subscription(conn: asyncpg.Connection, subscription_id: str) -> bool:
    return await conn.execute("DELETE FROM subscriptions WHERE id = $1", subscription_id) != "DELETE 0"


# --- the generated signing secret ---


async def generated_secret(conn: asyncpg.Connection, candidate: str) -> str:
    """The secret generated at the first start; ``candidate`` becomes it if there is none yet."""
    await conn.execute("INSERT INTO signing_secrets (id, secret) VALUES (1, $1) ON CONFLICT DO NOTHING", candidate)
    return await conn.fetchval("SELECT secret FROM signing_secrets WHERE id = 1")

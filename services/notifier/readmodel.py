"""The notifier's SQL: the incidents it names in messages, the deliveries and their attempts."""
from datetime import datetime
from typing import Any

import asyncpg

from services.notifier.domain import Incident

# NOTIFY is delivered on commit only, so a listener woken by it always finds the new rows.
QUEUED_CHANNEL = "warroom_notifier_queued"


# --- incidents ---

async def add_incident(conn: asyncpg.Connection, incident_id: str, data: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO incidents (id, title, severity, process_version, manager, status) "
        "VALUES ($1, $2, $3, $4, $5, 'open') ON CONFLICT (id) DO NOTHING",
        incident_id, data["title"], data["severity"], data["process_version"], data["manager"])


async def incident(conn: asyncpg.Connection, incident_id: str) -> Incident | None:
    row = await conn.fetchrow(
        "SELECT id, title, severity, process_version, manager, status FROM incidents WHERE id = $1",
        incident_id)
    return None if row is None else Incident(**row)


async def set_manager(conn: asyncpg.Connection, incident_id: str, manager: str) -> None:
    await conn.execute("UPDATE incidents SET manager = $2 WHERE id = $1", incident_id, manager)


async def set_severity(conn: asyncpg.Connection, incident_id: str, severity: int) -> None:
    await conn.execute("UPDATE incidents SET severity = $2 WHERE id = $1", incident_id, severity)


async def set_status(conn: asyncpg.Connection, incident_id: str, status: str) -> None:
    await conn.execute("UPDATE incidents SET status = $2 WHERE id = $1", incident_id, status)


# --- deliveries: queued by the consumers ---

async def queue(conn: asyncpg.Connection, *, id: str, event_id: str, event_type: str,
                incident_id: str | None, recipient: str, channel: str, reason: str, target: str | None,
                payload: dict, state: str, last_error: str | None, now: datetime) -> bool:
    """Queue one delivery unless this (event, recipient, channel) already has one; True if queued."""
    queued = await conn.fetchval(
        "INSERT INTO deliveries (id, event_id, event_type, incident_id, recipient, channel, reason, "
        "target, payload, state, last_error, created_at, next_attempt_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
        "        CASE WHEN $10 = 'pending' THEN $12::timestamptz END) "
        "ON CONFLICT DO NOTHING RETURNING true",
        id, event_id, event_type, incident_id, recipient, channel, reason, target, payload, state,
        last_error, now)
    if queued and state == "pending":
        await conn.execute("SELECT pg_notify($1, '')", QUEUED_CHANNEL)
    return bool(queued)


# --- deliveries: sent by the worker ---

async def claim_due(conn: asyncpg.Connection, now: datetime) -> asyncpg.Record | None:
    """Lock the next due delivery for this transaction; other replicas skip it (never send it too)."""
    return await conn.fetchrow(
        "SELECT id, event_id, incident_id, recipient, channel, reason, target, payload, attempts "
        "FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $1 "
        "ORDER BY next_attempt_at, position LIMIT 1 FOR UPDATE SKIP LOCKED", now)


async def record_attempt(conn: asyncpg.Connection, delivery_id: str, attempt: int, at: datetime,
                         status_code: int | None, error: str | None) -> None:
    await conn.execute(
        "INSERT INTO delivery_attempts (delivery_id, attempt, at, status_code, error) "
        "VALUES ($1, $2, $3, $4, $5)", delivery_id, attempt, at, status_code, error)


async def mark_delivered(conn: asyncpg.Connection, delivery_id: str, attempts: int, at: datetime) -> None:
    await conn.execute(
        "UPDATE deliveries SET state = 'delivered', attempts = $2, delivered_at = $3, "
        "next_attempt_at = NULL, last_error = NULL WHERE id = $1", delivery_id, attempts, at)


async def mark_retry(conn: asyncpg.Connection, delivery_id: str, attempts: int, next_at: datetime,
                     error: str) -> None:
    await conn.execute(
        "UPDATE deliveries SET attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1",
        delivery_id, attempts, next_at, error)


async def mark_ended(conn: asyncpg.Connection, delivery_id: str, state: str, attempts: int,
                     error: str) -> None:
    """Give up for good: ``failed`` after the last attempt, ``refused`` by the SSRF guard."""
    await conn.execute(
        "UPDATE deliveries SET state = $2, attempts = $3, next_attempt_at = NULL, last_error = $4 "
        "WHERE id = $1", delivery_id, state, attempts, error)


# --- deliveries: read by the API ---

async def deliveries(conn: asyncpg.Connection, *, incident_id: str | None, person: str | None,
                     before: int | None, limit: int) -> list[asyncpg.Record]:
    """Newest first; ``before`` is the position the previous page ended at."""
    return await conn.fetch(
        "SELECT d.position, d.id, d.event_id, d.event_type, d.incident_id, d.recipient, d.channel, "
        "       d.reason, d.state, d.attempts, d.last_error, d.created_at, d.delivered_at, "
        "       d.next_attempt_at, coalesce(h.history, '[]'::jsonb) AS history "
        "FROM deliveries d LEFT JOIN LATERAL ("
        "    SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'at', a.at, "
        "           'status_code', a.status_code, 'error', a.error) ORDER BY a.attempt DESC) AS history "
        "    FROM delivery_attempts a WHERE a.delivery_id = d.id) h ON true "
        "WHERE ($1::text IS NULL OR d.incident_id = $1) AND ($2::text IS NULL OR d.recipient = $2) "
        "  AND ($3::bigint IS NULL OR d.position < $3) "
        "ORDER BY d.position DESC LIMIT $4", incident_id, person, before, limit)

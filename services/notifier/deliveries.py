"""The deliveries' SQL: queued by the consumers, claimed and settled by the worker, read by the API.

One row per (event, recipient, channel): the UNIQUE constraint is what makes a redelivered or
replayed event send nothing twice (F4, F6). Each keeps the trace context it was queued in (the
consumer's hop of the event's trace, ``shared.tracing``), for its webhook POSTs' ``traceparent``.
"""

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from services.notifier import isolation
from shared import jsontext, tracing

# NOTIFY is delivered on commit only, so a listener woken by it always finds the new rows.
QUEUED_CHANNEL = "warroom_notifier_queued"

_FIELDS = (
    "id, event_id, event_type, incident_id, recipient, channel, reason, target, payload, state, "
    "attempts, round_start, not_before, order_key, circuit, priority, created_at, traceparent"
)


async def queue(
    conn: asyncpg.Connection,
    *,
    id: str,
    event_id: str,
    event_type: str,
    incident_id: str | None,
    recipient: str,
    channel: str,
    reason: str,
    target: str | None,
    payload: dict,
    state: str,
    last_error: str | None,
    now: datetime,
    not_before: datetime | None = None,
    order_key: str | None = None,
    priority: int = isolation.PERSONAL,
) -> bool:
    """Queue one delivery unless this (event, recipient, channel) already has one; True if queued.

    A delivery to a parked endpoint is queued held: it waits with the others for the probe.
    """
    due = (not_before or now) if state == "pending" else None
    queued = await conn.fetchval(
        "INSERT INTO deliveries (id, event_id, event_type, incident_id, recipient, channel, reason, target, "
        "payload, state, last_error, created_at, next_attempt_at, not_before, order_key, circuit, priority, held, "
        "traceparent) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
        "        EXISTS (SELECT 1 FROM circuits WHERE circuit = $16 AND state = 'open'), $18) "
        "ON CONFLICT DO NOTHING RETURNING true",
        id,
        event_id,
        event_type,
        incident_id,
        recipient,
        channel,
        reason,
        target,
        payload,
        state,
        last_error,
        now,
        due,
        not_before,
        order_key,
        isolation.circuit(channel, target),
        priority,
        tracing.current_header(),
    )
    if queued and state == "pending":
        await conn.execute("SELECT pg_notify($1, '')", QUEUED_CHANNEL)
    return bool(queued)


_MANY_COLUMNS = (
    "id, event_id, event_type, incident_id, recipient, channel, reason, target, payload, state, last_error, "
    "created_at, next_attempt_at, not_before, order_key, circuit, priority, traceparent"
)
_MANY_TYPES = (
    "text[], text[], text[], text[], text[], text[], text[], text[], text[], text[], text[], "
    "timestamptz[], timestamptz[], timestamptz[], text[], text[], smallint[], text[]"
)


async def queue_many(conn: asyncpg.Connection, queued: Sequence[dict]) -> set[str]:
    """``queue`` for many deliveries (each its keyword arguments, and the ``traceparent`` it carries) in one
    statement, in the order given (their ``position``); returns the ids queued now. One NOTIFY for all."""
    columns: list[list] = [[] for _ in range(18)]
    for d in queued:
        due = (d.get("not_before") or d["now"]) if d["state"] == "pending" else None
        row = (
            d["id"],
            d["event_id"],
            d["event_type"],
            d["incident_id"],
            d["recipient"],
            d["channel"],
            d["reason"],
            d["target"],
            jsontext.dumps(d["payload"]),
            d["state"],
            d["last_error"],
            d["now"],
            due,
            d.get("not_before"),
            d.get("order_key"),
            isolation.circuit(d["channel"], d["target"]),
            d.get("priority", isolation.PERSONAL),
            d["traceparent"],
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    placeholders = ", ".join(f"${n}::{kind}" for n, kind in enumerate(_MANY_TYPES.split(", "), start=1))
    rows = await conn.fetch(
        f"INSERT INTO deliveries ({_MANY_COLUMNS}, held) "
        f"SELECT {_MANY_COLUMNS.replace('payload', 'payload::jsonb')}, "
        "       EXISTS (SELECT 1 FROM circuits c WHERE c.circuit = d.circuit AND c.state = 'open') "
        f"FROM unnest({placeholders}) WITH ORDINALITY AS d({_MANY_COLUMNS}, n) ORDER BY n "
        "ON CONFLICT DO NOTHING RETURNING id, state",
        *columns,
    )
    if any(row["state"] == "pending" for row in rows):
        await conn.execute("SELECT pg_notify($1, '')", QUEUED_CHANNEL)
    return {row["id"] for row in rows}


async def claim_due(
    conn: asyncpg.Connection, now: datetime, busy: Sequence[str] = (), suspects: bool = True
) -> asyncpg.Record | None:
    """Lock the most urgent due delivery for this transaction; other replicas skip it (never send it too).

    Held deliveries (a parked endpoint's) are not in the index it walks; ``busy`` endpoints have
    as many attempts in flight here as they may; without ``suspects`` an endpoint that failed
    lately is skipped too, so that failing endpoints never take every slot (F14).
    A delivery with an order key waits while an earlier one of the same key is pending, even one
    another replica is sending right now: a subscription gets one incident's events in order (F5).
    """
    return await conn.fetchrow(
        f"SELECT {', '.join('d.' + f for f in _FIELDS.split(', '))}, "
        "       coalesce(c.state, 'closed') AS circuit_state, coalesce(c.failures, 0) AS circuit_failures "
        "FROM deliveries d LEFT JOIN circuits c ON c.circuit = d.circuit "
        "WHERE d.state = 'pending' AND NOT d.held AND d.next_attempt_at <= $1 "
        "  AND (d.circuit IS NULL OR d.circuit <> ALL($2::text[])) "
        "  AND ($3 OR c.circuit IS NULL OR (c.state = 'closed' AND c.failures = 0)) "
        "  AND (d.order_key IS NULL OR NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.order_key = d.order_key "
        "       AND e.state = 'pending' AND e.position < d.position)) "
        "ORDER BY d.priority, d.next_attempt_at, d.position LIMIT 1 FOR UPDATE OF d SKIP LOCKED",
        now,
        list(busy),
        suspects,
    )


async def record_attempt(
    conn: asyncpg.Connection, delivery_id: str, attempt: int, at: datetime, status_code: int | None, error: str | None
) -> None:
    await conn.execute(
        "INSERT INTO delivery_attempts (delivery_id, attempt, at, status_code, error) VALUES ($1, $2, $3, $4, $5)",
        delivery_id,
        attempt,
        at,
        status_code,
        error,
    )


async def mark_delivered(conn: asyncpg.Connection, delivery_id: str, attempts: int, at: datetime) -> None:
    await conn.execute(
        "UPDATE deliveries SET state = 'delivered', attempts = $2, delivered_at = $3, "
        "next_attempt_at = NULL, last_error = NULL WHERE id = $1",
        delivery_id,
        attempts,
        at,
    )


async def mark_retry(conn: asyncpg.Connection, delivery_id: str, attempts: int, next_at: datetime, error: str) -> None:
    """Try again at ``next_at``, or with its endpoint's probe if the endpoint is parked by then."""
    await conn.execute(
        "UPDATE deliveries SET attempts = $2, next_attempt_at = $3, last_error = $4, "
        "       held = EXISTS (SELECT 1 FROM circuits c WHERE c.circuit = deliveries.circuit AND c.state = 'open') "
        "WHERE id = $1",
        delivery_id,
        attempts,
        next_at,
        error,
    )


async def hold(conn: asyncpg.Connection, delivery_id: str) -> None:
    await conn.execute("UPDATE deliveries SET held = true WHERE id = $1", delivery_id)


async def mark_ended(conn: asyncpg.Connection, delivery_id: str, state: str, attempts: int, error: str) -> None:
    """Give up: ``failed`` after the last attempt, ``refused`` by the SSRF guard, ``disabled`` by a 410."""
    await conn.execute(
        "UPDATE deliveries SET state = $2, attempts = $3, next_attempt_at = NULL, last_error = $4 WHERE id = $1",
        delivery_id,
        state,
        attempts,
        error,
    )


async def end_pending_of(conn: asyncpg.Connection, recipient: str, channel: str, error: str) -> None:
    """A deleted subscription's queued deliveries go nowhere."""
    await conn.execute(
        "UPDATE deliveries SET state = 'disabled', next_attempt_at = NULL, last_error = $3 "
        "WHERE recipient = $1 AND channel = $2 AND state = 'pending'",
        recipient,
        channel,
        error,
    )


# --- manual redelivery ---


async def lock(conn: asyncpg.Connection, delivery_id: str) -> asyncpg.Record | None:
    """The delivery, locked (waits for a worker sending it right now to finish)."""
    return await conn.fetchrow(f"SELECT {_FIELDS} FROM deliveries WHERE id = $1 FOR UPDATE", delivery_id)


async def redeliver(conn: asyncpg.Connection, delivery_id: str, now: datetime) -> None:
    """Send it again now, under the same id; its retries count afresh from here."""
    await conn.execute(
        "UPDATE deliveries SET state = 'pending', next_attempt_at = $2, round_start = attempts, held = false "
        "WHERE id = $1",
        delivery_id,
        now,
    )
    await conn.execute("SELECT pg_notify($1, '')", QUEUED_CHANNEL)


# --- read by the API ---


async def listing(
    conn: asyncpg.Connection,
    *,
    incident_id: str | None,
    person: str | None,
    delivery_id: str | None = None,
    before: int | None = None,
    limit: int = 1,
) -> list[asyncpg.Record]:
    """Newest first, each with its attempts (newest first); ``before`` is where the previous page ended."""
    return await conn.fetch(
        "SELECT d.position, d.id, d.event_id, d.event_type, d.incident_id, d.recipient, d.channel, "
        "       d.reason, d.state, d.attempts, d.last_error, d.created_at, d.delivered_at, d.not_before, "
        "       d.next_attempt_at, coalesce(h.history, '[]'::jsonb) AS history "
        "FROM deliveries d LEFT JOIN LATERAL ("
        "    SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'at', a.at, "
        "           'status_code', a.status_code, 'error', a.error) ORDER BY a.attempt DESC) AS history "
        "    FROM delivery_attempts a WHERE a.delivery_id = d.id) h ON true "
        "WHERE ($1::text IS NULL OR d.incident_id = $1) AND ($2::text IS NULL OR d.recipient = $2) "
        "  AND ($3::text IS NULL OR d.id = $3) AND ($4::bigint IS NULL OR d.position < $4) "
        "ORDER BY d.position DESC LIMIT $5",
        incident_id,
        person,
        delivery_id,
        before,
        limit,
    )

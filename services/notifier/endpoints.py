"""The endpoints' SQL: circuit breakers that park an endpoint which keeps failing and probe it
later (F14), and endpoints disabled by 410 Gone until a person sends to them again.

A parked endpoint's deliveries are held (`deliveries.held`), so the claim query never walks them.
"""

from datetime import datetime

import asyncpg

from services.notifier import isolation
from services.notifier.deliveries import QUEUED_CHANNEL


async def circuit_failed(conn: asyncpg.Connection, circuit: str, at: datetime, error: str | None) -> str | None:
    """Count a failure; park the endpoint (holding its deliveries) after too many in a row or a
    failed probe. Returns the state the endpoint entered, or None if it stayed as it was."""
    row = await conn.fetchrow(
        "INSERT INTO circuits AS c (circuit, state, failures, last_error, changed_at) "
        "VALUES ($1, 'closed', 1, $3, $2) "
        "ON CONFLICT (circuit) DO UPDATE SET failures = c.failures + 1, last_error = $3 "
        "RETURNING state, failures, parks",
        circuit,
        at,
        error,
    )
    if row["state"] == "open" or (row["state"] == "closed" and row["failures"] < isolation.FAILURES_TO_PARK):
        return None
    parks = row["parks"] + 1
    await conn.execute(
        "UPDATE circuits SET state = 'open', parks = $2, parked_until = $3, changed_at = $4 WHERE circuit = $1",
        circuit,
        parks,
        at + isolation.park_for(parks),
        at,
    )
    # Deliveries other slots are sending right now are locked: skipped here, held when they settle.
    await conn.execute(
        "UPDATE deliveries SET held = true WHERE id IN (SELECT id FROM deliveries WHERE circuit = $1 "
        "AND state = 'pending' AND NOT held FOR UPDATE SKIP LOCKED)",
        circuit,
    )
    return "open"


async def circuit_answered(conn: asyncpg.Connection, circuit: str, at: datetime) -> bool:
    """The endpoint answered: close its circuit and release its deliveries; True if it had failed."""
    closed = await conn.fetchval(
        "UPDATE circuits SET state = 'closed', failures = 0, parks = 0, parked_until = NULL, changed_at = $2 "
        "WHERE circuit = $1 AND (state <> 'closed' OR failures > 0) RETURNING true",
        circuit,
        at,
    )
    if closed:
        await conn.execute(
            "UPDATE deliveries SET held = false WHERE id IN (SELECT id FROM deliveries WHERE circuit = $1 "
            "AND state = 'pending' AND held FOR UPDATE SKIP LOCKED)",
            circuit,
        )
        await conn.execute("SELECT pg_notify($1, '')", QUEUED_CHANNEL)
    return bool(closed)


async def release_probes(conn: asyncpg.Connection, now: datetime) -> list[str]:
    """Endpoints whose parking is over: each gets one delivery released, now, as its probe.

    Also holds what a consumer queued for an endpoint while it was being parked (its transaction
    could not see the parking yet), so nothing of a parked endpoint stays in the claim query's way.
    """
    await conn.execute(
        "UPDATE deliveries SET held = true WHERE id IN (SELECT d.id FROM circuits c JOIN deliveries d "
        "ON d.circuit = c.circuit AND d.state = 'pending' AND NOT d.held WHERE c.state = 'open' "
        "FOR UPDATE OF d SKIP LOCKED)"
    )
    due = await conn.fetch(
        "UPDATE circuits SET state = 'half_open', changed_at = $1 WHERE circuit IN (SELECT circuit FROM "
        "circuits WHERE state = 'open' AND parked_until <= $1 FOR UPDATE SKIP LOCKED) RETURNING circuit",
        now,
    )
    for row in due:
        await conn.execute(
            "UPDATE deliveries SET held = false, next_attempt_at = least(next_attempt_at, $2) WHERE id = ("
            "  SELECT id FROM deliveries WHERE circuit = $1 AND state = 'pending' AND held "
            "  ORDER BY priority, next_attempt_at, position LIMIT 1 FOR UPDATE SKIP LOCKED)",
            row["circuit"],
            now,
        )
    if due:
        await conn.execute("SELECT pg_notify($1, '')", QUEUED_CHANNEL)
    return [row["circuit"] for row in due]


async def circuits(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every endpoint that ever failed, with its pending deliveries (held or not), named as the API shows them."""
    return await conn.fetch(
        "SELECT c.circuit AS endpoint, c.state, c.failures AS consecutive_failures, c.parks AS parked_times, "
        "       c.parked_until, c.last_error, c.changed_at, "
        "       coalesce(p.pending, 0) AS pending, coalesce(p.held, 0) AS held "
        "FROM circuits c LEFT JOIN (SELECT circuit, count(*) AS pending, count(*) FILTER (WHERE held) AS held "
        "    FROM deliveries WHERE state = 'pending' GROUP BY circuit) p ON p.circuit = c.circuit "
        "ORDER BY c.state <> 'open', c.state <> 'half_open', c.circuit"
    )


async def circuit_counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {
        row["state"]: row["n"] for row in await conn.fetch("SELECT state, count(*) AS n FROM circuits GROUP BY state")
    }


# --- endpoints disabled by 410 Gone ---


async def disable_endpoint(conn: asyncpg.Connection, endpoint: str | None, at: datetime, delivery_id: str) -> None:
    """Nothing to disable for None: an email address is never disabled (`names.endpoint`)."""
    if endpoint is None:
        return
    await conn.execute(
        "INSERT INTO disabled_endpoints (endpoint, disabled_at, delivery_id) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING",
        endpoint,
        at,
        delivery_id,
    )


async def endpoint_disabled(conn: asyncpg.Connection, endpoint: str | None) -> bool:
    return endpoint is not None and bool(
        await conn.fetchval("SELECT true FROM disabled_endpoints WHERE endpoint = $1", endpoint)
    )


async def enable_endpoint(conn: asyncpg.Connection, endpoint: str | None) -> None:
    if endpoint is not None:
        await conn.execute("DELETE FROM disabled_endpoints WHERE endpoint = $1", endpoint)

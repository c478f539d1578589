"""Poison events (F13): parked by the consumer that cannot apply them, and applied again when an operator asks.

A consumer (``shared/consumer.py``) parks an event its handler failed ``max_deliver`` times, or at once
when no retry can mend it, in the schema's ``parked_events``; ``python -m shared.parked replay`` marks
parked events for replay and the running consumer applies them with the same handler
(``replay_requested``), once, with the processed-events record.
"""

import asyncpg
from prometheus_client import Counter
from pydantic import ValidationError

from shared import db, logs, tracing
from shared.consumer_batch import Handler
from shared.contract import Consumer, Envelope

log = logs.get(__name__)

PARKED = Counter("warroom_events_parked_total", "Poison messages parked (F13)", ["consumer"])
REPLAYED = Counter("warroom_events_replayed_total", "Parked events applied again after a fix", ["consumer"])


async def park(pool: asyncpg.Pool, consumer: Consumer, raw: bytes, error: str) -> None:
    try:
        decoded = Envelope.from_bytes(raw)
    except (ValidationError, ValueError):
        decoded = None
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO parked_events (consumer, event_id, type, body, error) VALUES ($1, $2, $3, $4, $5)",
            consumer.durable,
            decoded and decoded.id,
            decoded and decoded.type,
            raw.decode(errors="replace"),
            error,
        )
        if consumer.ordered and decoded is not None:
            # Move the aggregate past the poison event, or its later events would wait forever.
            await conn.execute(
                "INSERT INTO applied_sequences (stream, subject, last_sequence) VALUES ($1, $2, $3) "
                "ON CONFLICT (stream, subject) DO UPDATE SET last_sequence = "
                "GREATEST(applied_sequences.last_sequence, EXCLUDED.last_sequence)",
                consumer.stream.name,
                decoded.subject,
                decoded.sequence,
            )
    PARKED.labels(consumer.durable).inc()


async def replay_requested(pool: asyncpg.Pool, consumer: Consumer, handle: Handler) -> int:
    """Apply the parked events an operator asked to replay, oldest first; returns how many applied.

    Each runs in its own transaction with the processed-events record, so a replay is applied once.
    The aggregate's ordering was moved past the event when it was parked: it is applied now as it
    is, after whatever of its aggregate was applied meanwhile. One that fails again stays parked
    with its new reason."""
    try:
        rows = await pool.fetch(
            "SELECT id, body FROM parked_events WHERE consumer = $1 AND replay_requested_at IS NOT NULL "
            "AND replayed_at IS NULL ORDER BY id",
            consumer.durable,
        )
    except db.UNAVAILABLE:
        return 0
    applied = 0
    for row in rows:
        try:
            event = Envelope.from_bytes(row["body"].encode())
            with tracing.hop(event.traceparent, "replay", durable=consumer.durable):
                async with pool.acquire() as conn, conn.transaction():
                    if await conn.fetchval(
                        "INSERT INTO processed_events (event_id, type) VALUES ($1, $2) "
                        "ON CONFLICT DO NOTHING RETURNING true",
                        event.id,
                        event.type,
                    ):
                        await handle(conn, event)
                    await conn.execute(
                        "UPDATE parked_events SET replayed_at = now(), replay_requested_at = NULL WHERE id = $1",
                        row["id"],
                    )
        except db.UNAVAILABLE:
            return applied  # asked again at the next check
        except Exception as exc:
            log.error("parked_event_replay_failed", consumer=consumer.durable, parked=row["id"], error=repr(exc))
            await pool.execute(
                "UPDATE parked_events SET replay_requested_at = NULL, error = $2 WHERE id = $1", row["id"], repr(exc)
            )
            continue
        applied += 1
        REPLAYED.labels(consumer.durable).inc()
        log.info("parked_event_replayed", consumer=consumer.durable, parked=row["id"], event_id=event.id)
    return applied

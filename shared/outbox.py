"""The transactional outbox of a consuming service's own events (timers fired, deliveries, …).

A service writes the event into ``outbox`` in the transaction that changes its state, and
this publisher sends unpublished rows to JetStream in position order, marking each only
after JetStream acknowledged it: nothing committed is lost, a crash re-sends (deduplicated
by event id). Only one replica publishes at a time (advisory lock per schema).

An event carries the trace context it was queued in (``shared.tracing``: the consumer's hop, a timer's
firing), and its lag from its time to JetStream's acknowledgement is measured
(``warroom_outbox_lag_seconds``, per producing service).
"""

import asyncio
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from nats.js import JetStreamContext
from prometheus_client import Histogram

from shared import logs, natsio, tracing
from shared.contract import Envelope, event_id
from shared.waking import woken_or_timeout

log = logs.get(__name__)

ACK_TIMEOUT = 10.0  # for a whole batch's acknowledgements
LAG = Histogram(
    "warroom_outbox_lag_seconds",
    "From an outbox event's time to JetStream's acknowledgement of its publication, by producing service",
    ["source"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)


@dataclass(frozen=True)
class Queued:
    """An event to queue (``add_many``): ``key`` names the fact uniquely (e.g. the timer id), so its id is
    stable; ``traceparent``: the hop it was made in (None: none)."""

    source: str
    event_type: str
    subject: str
    data: dict[str, Any]
    key: str
    time: datetime
    traceparent: str | None = None

    def envelope(self, position: int) -> Envelope:
        return Envelope(
            id=event_id(self.key, 1),
            source=self.source,
            type=self.event_type,
            subject=self.subject,
            time=self.time,
            data=self.data,
            sequence=1,
            position=position,
            **({} if self.traceparent is None else {"traceparent": self.traceparent}),
        )


async def add(
    conn: asyncpg.Connection,
    *,
    source: str,
    event_type: str,
    subject: str,
    data: dict[str, Any],
    key: str,
    time: datetime | None = None,
    traceparent: str | None = None,
) -> Envelope:
    """Queue one event. ``key`` names the fact uniquely (e.g. the timer id), so its id is stable.
    ``traceparent`` defaults to the current hop's (none outside one)."""
    position = await conn.fetchval("SELECT nextval(pg_get_serial_sequence('outbox', 'position'))")
    traceparent = traceparent or tracing.current_header()
    envelope = Queued(source, event_type, subject, data, key, time or datetime.now(UTC), traceparent).envelope(position)
    await conn.execute(
        "INSERT INTO outbox (position, event) VALUES ($1, $2)", position, envelope.model_dump(mode="json")
    )
    return envelope


async def add_many(conn: asyncpg.Connection, queued: Sequence[Queued]) -> list[Envelope]:
    """Queue these events, in this order, in two statements whatever their number (a timer batch's events:
    two round trips per event would make firing 500 timers take 1,000)."""
    if not queued:
        return []
    positions = await conn.fetch(
        "SELECT nextval(pg_get_serial_sequence('outbox', 'position')) AS position FROM generate_series(1, $1::integer)",
        len(queued),
    )
    ordered = sorted(row["position"] for row in positions)
    envelopes = [item.envelope(position) for item, position in zip(queued, ordered, strict=True)]
    await conn.execute(
        "INSERT INTO outbox (position, event) SELECT * FROM unnest($1::bigint[], $2::jsonb[])",
        [envelope.position for envelope in envelopes],
        [envelope.model_dump(mode="json") for envelope in envelopes],
    )
    return envelopes


class Publisher:
    def __init__(self, pool: asyncpg.Pool, js: JetStreamContext, lock_key: int, poll_interval: float = 0.5) -> None:
        self.pool, self.js, self.lock_key, self.poll_interval = pool, js, lock_key, poll_interval
        self.wake = asyncio.Event()
        self.outage = logs.Throttled(log)

    async def publish_pending(self, conn: asyncpg.Connection, limit: int = 500) -> int:
        rows = await conn.fetch(
            "SELECT position, event FROM outbox WHERE published_at IS NULL ORDER BY position LIMIT $1", limit
        )
        if not rows:
            return 0
        # In position order, then marked in one statement: one commit per batch instead of per event.
        envelopes = [Envelope.model_validate(row["event"]) for row in rows]
        await natsio.publish_batch(self.js, envelopes, ACK_TIMEOUT)
        now = clock.time()
        for envelope in envelopes:
            LAG.labels(envelope.source).observe(max(0.0, now - envelope.time.timestamp()))
        await conn.execute(
            "UPDATE outbox SET published_at = now() WHERE position = ANY($1::bigint[])",
            [row["position"] for row in rows],
        )
        return len(rows)

    async def run(self) -> None:
        while True:
            try:
                async with self.pool.acquire() as conn:
                    if await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_key):
                        try:
                            while True:
                                while await self.publish_pending(conn):
                                    pass
                                await self._wait()
                        finally:
                            await conn.execute("SELECT pg_advisory_unlock($1)", self.lock_key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS or PostgreSQL away: retry until they return
                self.outage.warning("outbox_publish_failed", error=repr(exc))
            await asyncio.sleep(self.poll_interval)

    async def _wait(self) -> None:
        await woken_or_timeout(self.wake, self.poll_interval)
        self.wake.clear()

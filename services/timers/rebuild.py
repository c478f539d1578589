"""Rebuild the timers' read model from the incident stream: ``python -m services.timers.rebuild``.

Every event this service has processed (its ``processed_events`` record) is replayed from the
stream's first message, in ``sequence`` order per aggregate, through the same handlers as live
processing, into memory; the result replaces the read model in one transaction. Timers are
re-derived, and a timer whose event is in the outbox keeps the state and time it fired with,
so nothing is sent again (F6). A timer due by now that never fired is left pending for the
scheduler, which fires it unless an event not yet applied cancels it first. Events not yet
processed are left to the live consumer. Consumers and schedulers of running replicas wait
while it runs (it holds the read model's tables).
"""
import asyncio
import sys
import time
import uuid
from collections import defaultdict

import asyncpg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import FetchTimeoutError

from services.timers import handlers
from services.timers.memory import MemoryStore
from shared import db, natsio
from shared.clock import Clock
from shared.contract import Envelope
from shared.contract.streams import INCIDENT
from shared.settings import Settings

BATCH = 5000  # messages per fetch: fewer, larger round trips to JetStream
ATTEMPTS = 5
LOCK_TIMEOUT = "10s"
TABLES = ("incidents", "workers", "steps_done", "stretches", "timers")


class Replay:
    """Applies the stream's processed events, an aggregate's in sequence order (early ones wait)."""

    def __init__(self, store: MemoryStore, clock: Clock):
        self.store, self.clock, self.processes = store, clock, handlers.Processes()
        self.last: dict[str, int] = {}
        self.early: dict[str, dict[int, Envelope]] = defaultdict(dict)
        self.applied = 0

    async def batch(self, events: list[Envelope]) -> None:
        processed = {row["event_id"] for row in await self.store.conn.fetch(
            "SELECT event_id FROM processed_events WHERE event_id = ANY($1::text[])", [e.id for e in events])}
        for event in events:
            if event.id in processed:
                await self._in_order(event)

    async def finish(self) -> None:
        """What still waits behind a gap (an event parked live, so never processed) applies in order."""
        for _, waiting in sorted(self.early.items()):
            for sequence in sorted(waiting):
                await self._apply(waiting[sequence])
        self.early.clear()

    async def _in_order(self, event: Envelope) -> None:
        last = self.last.get(event.subject, 0)
        if event.sequence <= last:
            return  # the same event twice on the stream
        if event.sequence > last + 1:
            self.early[event.subject][event.sequence] = event
            return
        await self._apply(event)
        sequence, early = event.sequence, self.early.get(event.subject, {})
        while (follower := early.pop(sequence + 1, None)) is not None:
            await self._apply(follower)
            sequence += 1
        self.last[event.subject] = sequence

    async def _apply(self, event: Envelope) -> None:
        await handlers.apply(self.store, event, clock=self.clock, processes=self.processes)
        self.applied += 1


async def rebuild(pool: asyncpg.Pool, js, *, clock: Clock | None = None, batch: int = BATCH) -> int:
    """Replace the read model by a replay of the incident stream; returns the events applied."""
    attempts = 1
    while True:
        try:
            return await _rebuild(pool, js, clock or Clock(), batch)
        except (asyncpg.DeadlockDetectedError, asyncpg.LockNotAvailableError):
            # Running replicas take these tables in another order; nothing was kept, so start over.
            if attempts == ATTEMPTS:
                raise
            attempts += 1


async def _rebuild(pool: asyncpg.Pool, js, clock: Clock, batch: int) -> int:
    name = f"timers-rebuild-{uuid.uuid4().hex[:12]}"
    await js.add_consumer(INCIDENT.name, ConsumerConfig(
        name=name, deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=300.0))
    try:
        sub = await js.pull_subscribe_bind(name=name, stream=INCIDENT.name)
        async with pool.acquire() as conn, conn.transaction():
            # Writers wait from here on. Whatever they committed before is in processed_events and the
            # outbox, and on the stream up to its present end (an event is published before it is applied).
            await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            await conn.execute(f"LOCK TABLE {', '.join(TABLES)}, outbox IN EXCLUSIVE MODE")
            end = (await js.stream_info(INCIDENT.name)).state.last_seq
            store = await MemoryStore.load(conn, clock)
            replay, position = Replay(store, clock), 0
            while position < end:
                try:
                    messages = await sub.fetch(batch, timeout=5)
                except (FetchTimeoutError, NatsTimeout):
                    continue
                position = messages[-1].metadata.sequence.stream
                await replay.batch([Envelope.model_validate_json(m.data) for m in messages])
            await replay.finish()
            await store.fire_known()
            await conn.execute(f"TRUNCATE {', '.join(TABLES)}")
            await store.write()
        return replay.applied
    finally:
        await js.delete_consumer(INCIDENT.name, name)


async def main() -> int:
    settings = Settings()
    pool = await db.create_pool(settings.database_url, "timers")
    nc = await natsio.connect(settings.nats_url, "warroom-timers-rebuild")
    try:
        await db.migrate(pool, "timers", db.service_migrations("services.timers"))
        started = time.monotonic()
        applied = await rebuild(pool, nc.jetstream())
        seconds = time.monotonic() - started
        print(f"rebuilt the timers' read model: {applied} events in {seconds:.1f} s "
              f"({applied / max(seconds, 1e-9):.0f}/s)")
    finally:
        await nc.close()
        await pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

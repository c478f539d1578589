"""Rebuild the notifier's read model (people, tokens, process, directory, incidents) from the stream.

``python -m services.notifier.rebuild`` empties the projection and replays the incident stream
from its first message, in batches of a thousand in one transaction, applying exactly the events
this service has processed (its ``processed_events`` record), in ``sequence`` order per aggregate
— so the result is what live processing built (F6). It queues nothing: what was sent stays on
record in ``deliveries`` and nothing is sent again. Events not yet processed are left to the live
consumer, which finds them unapplied. Live consumers wait while it runs (it holds the projection's
tables), so it is safe, if briefly blocking, to run beside a running notifier.
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

from services.notifier import projection, readmodel
from services.notifier.projection import Incident
from services.notifier.settings import NotifierSettings
from shared import db, natsio, organisation
from shared.contract import Envelope
from shared.contract.streams import INCIDENT

BATCH = 1000


class Replay:
    """Applies one batch of events at a time, holding back an aggregate's events that arrive early."""

    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn
        self.last: dict[str, int] = {}
        self.early: dict[str, dict[int, Envelope]] = defaultdict(dict)
        self.incidents: dict[str, Incident | None] = {}
        self.applied = 0

    async def batch(self, events: list[Envelope]) -> None:
        processed = {row["event_id"] for row in await self.conn.fetch(
            "SELECT event_id FROM processed_events WHERE event_id = ANY($1)", [e.id for e in events])}
        await self._run([e for e in events if e.id in processed])

    async def finish(self) -> None:
        """What still waits behind a gap (an event parked live, never processed) applies in its order."""
        waiting = [e for events in self.early.values() for e in sorted(events.values(), key=lambda e: e.sequence)]
        self.early.clear()
        await self._run(waiting, in_order=False)

    async def _run(self, events: list[Envelope], in_order: bool = True) -> None:
        wanted = {e.subject for e in events if e.type.startswith("warroom.incident.")} - self.incidents.keys()
        loaded = await readmodel.incidents(self.conn, list(wanted))
        self.incidents.update({i: loaded.get(i) for i in wanted})
        before = dict(self.incidents)
        for event in events:
            await (self._in_order(event) if in_order else self._apply(event))
        changed = [i for key, i in self.incidents.items() if i is not None and i != before.get(key)]
        await readmodel.save_many(self.conn, changed)
        self.incidents.clear()

    async def _in_order(self, event: Envelope) -> None:
        last = self.last.get(event.subject, 0)
        if event.sequence <= last:
            return  # the same event stored twice in the stream
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
        self.applied += 1
        if event.type.startswith("warroom.incident."):
            self.incidents[event.subject] = projection.apply(
                self.incidents.get(event.subject), event.type, event.data, event.subject)
        else:
            await organisation.apply(self.conn, event)


async def rebuild(pool: asyncpg.Pool, js, *, batch: int = BATCH) -> int:
    """Replay the incident stream into an emptied projection, in one transaction; returns the events applied."""
    name = f"notifier-rebuild-{uuid.uuid4().hex[:12]}"
    await js.add_consumer(INCIDENT.name, ConsumerConfig(
        name=name, deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=300.0))
    try:
        end = (await js.stream_info(INCIDENT.name)).state.last_seq
        sub = await js.pull_subscribe_bind(name=name, stream=INCIDENT.name)
        async with pool.acquire() as conn, conn.transaction():
            await readmodel.clear_projection(conn)
            replay, position = Replay(conn), 0
            while position < end:
                try:
                    messages = await sub.fetch(batch, timeout=5)
                except (FetchTimeoutError, NatsTimeout):
                    continue
                position = messages[-1].metadata.sequence.stream
                await replay.batch([Envelope.model_validate_json(m.data) for m in messages])
            await replay.finish()
        return replay.applied
    finally:
        await js.delete_consumer(INCIDENT.name, name)


async def main() -> int:
    settings = NotifierSettings()
    pool = await db.create_pool(settings.database_url, "notifier")
    nc = await natsio.connect(settings.nats_url, "warroom-notifier-rebuild")
    try:
        await db.migrate(pool, "notifier", db.service_migrations("services.notifier"))
        started = time.monotonic()
        applied = await rebuild(pool, nc.jetstream())
        seconds = time.monotonic() - started
        print(f"rebuilt the notifier's read model: {applied} events in {seconds:.1f} s "
              f"({applied / max(seconds, 1e-9):.0f}/s)")
    finally:
        await nc.close()
        await pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""Rebuild the post-mortem's read model (timeline, people, tokens, process, directory) from the streams.

``python -m services.postmortem.rebuild`` empties the projection and replays the incident, timers
and notifier streams from their first message, in batches in one transaction, applying exactly the
events this service has processed (its ``processed_events`` record) — so the result is what live
processing built (F6). The timeline is append-only and keyed by event id, so the order of the
streams does not matter. What people wrote (narrative, action items, publications) is not a
projection and stays as it is; nothing is published again. Events not yet processed are left to
the live consumers, which find them unapplied. Live consumers wait while it runs (it holds the
projection's tables), so it is safe, if briefly blocking, to run beside a running service.
"""
import asyncio
import sys
import time
import uuid

import asyncpg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import FetchTimeoutError

from services.postmortem import readmodel
from services.postmortem.domain import entry_of
from services.postmortem.settings import PostmortemSettings
from shared import db, natsio, organisation
from shared.contract import CONSUMERS, Envelope, Stream

BATCH = 1000


class Replay:
    """Applies one batch of a stream's events at a time: organisation events one by one, in stream
    order (a later change must win, as it did live), timeline rows all at once."""

    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn
        self.seen: set[str] = set()  # a stream may hold an event twice (re-published after a crash)
        self.applied = 0

    async def batch(self, events: list[Envelope]) -> None:
        processed = {row["event_id"] for row in await self.conn.fetch(
            "SELECT event_id FROM processed_events WHERE event_id = ANY($1::text[])", [e.id for e in events])}
        entries = []
        for event in events:
            if event.id not in processed or event.id in self.seen:
                continue
            self.seen.add(event.id)
            self.applied += 1
            if not await organisation.apply(self.conn, event) and (entry := entry_of(event)) is not None:
                entries.append(entry)
        await readmodel.add_entries(self.conn, entries)


async def replay(js, stream: Stream, replaying: Replay, batch: int = BATCH) -> None:
    """Every message of ``stream`` up to its end now, through an ephemeral consumer. The next batch is
    fetched while the database applies this one."""
    name = f"postmortem-rebuild-{uuid.uuid4().hex[:12]}"
    await js.add_consumer(stream.name, ConsumerConfig(
        name=name, deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=300.0))
    try:
        state = (await js.stream_info(stream.name)).state
        if state.messages == 0:
            return
        sub = await js.pull_subscribe_bind(name=name, stream=stream.name)
        fetching = asyncio.create_task(_fetch(sub, batch))
        try:
            while True:
                messages = await fetching
                more = messages[-1].metadata.sequence.stream < state.last_seq
                if more:
                    fetching = asyncio.create_task(_fetch(sub, batch))
                await replaying.batch([Envelope.model_validate_json(m.data) for m in messages])
                if not more:
                    break
        finally:
            fetching.cancel()
    finally:
        await js.delete_consumer(stream.name, name)


async def _fetch(sub, batch: int) -> list:
    while True:
        try:
            return await sub.fetch(batch, timeout=5)
        except (FetchTimeoutError, NatsTimeout):
            continue


async def rebuild(pool: asyncpg.Pool, js, *, batch: int = BATCH) -> int:
    """Replay every stream this service reads into an emptied projection; returns the events applied."""
    async with pool.acquire() as conn, conn.transaction():
        await readmodel.clear(conn)
        replaying = Replay(conn)
        for consumer in CONSUMERS["postmortem"]:
            await replay(js, consumer.stream, replaying, batch)
    return replaying.applied


async def main() -> int:
    settings = PostmortemSettings()
    pool = await db.create_pool(settings.database_url, "postmortem")
    nc = await natsio.connect(settings.nats_url, "warroom-postmortem-rebuild")
    try:
        await db.migrate(pool, "postmortem", db.service_migrations("services.postmortem"))
        started = time.monotonic()
        applied = await rebuild(pool, nc.jetstream())
        seconds = time.monotonic() - started
        print(f"rebuilt the post-mortem read model: {applied} events in {seconds:.1f} s "
              f"({applied / max(seconds, 1e-9):.0f}/s)")
    finally:
        await nc.close()
        await pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

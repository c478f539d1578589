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

import asyncpg

from services.postmortem import readmodel
from services.postmortem.settings import PostmortemSettings
from services.postmortem.timeline import entry_of
from shared import projection
from shared.contract import CONSUMERS, Envelope
from shared.rebuild import replay, run_cli

BATCH = 1000


class PostmortemReplay:
    """Applies one batch of a stream's events at a time: organisation events one by one, in stream
    order (a later change must win, as it did live), timeline rows all at once — written while the
    next batch is fetched and decoded (``finish`` waits for the last)."""

    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn
        self.seen: set[str] = set()  # a stream may hold an event twice (re-published after a crash)
        self.applied = 0
        self.writing: asyncio.Future[None] | None = None

    async def finish(self) -> None:
        if self.writing is not None:
            writing, self.writing = self.writing, None
            await writing

    async def batch(self, events: list[Envelope]) -> None:
        await self.finish()  # the connection does one thing at a time
        processed = {
            row["event_id"]
            for row in await self.conn.fetch(
                "SELECT event_id FROM processed_events WHERE event_id = ANY($1::text[])", [e.id for e in events]
            )
        }
        entries = []
        for event in events:
            if event.id not in processed or event.id in self.seen:
                continue
            self.seen.add(event.id)
            self.applied += 1
            if not await projection.apply(self.conn, event) and (entry := entry_of(event)) is not None:
                entries.append(entry)
        if entries:
            self.writing = asyncio.ensure_future(readmodel.add_entries(self.conn, entries))


async def rebuild(pool: asyncpg.Pool, js, *, batch: int = BATCH) -> int:
    """Replay every stream this service reads into an emptied projection; returns the events applied."""
    async with pool.acquire() as conn, conn.transaction():
        await readmodel.clear(conn)
        replaying = PostmortemReplay(conn)
        try:
            for consumer in CONSUMERS["postmortem"]:
                await replay(js, consumer.stream.name, replaying.batch, batch=batch, owner="postmortem")
        finally:
            await replaying.finish()
    return replaying.applied


def main() -> int:
    return run_cli("postmortem", "services.postmortem", PostmortemSettings(), rebuild, "the post-mortem read model")


if __name__ == "__main__":
    sys.exit(main())

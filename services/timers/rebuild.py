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

import gc
import sys
from contextlib import contextmanager

import asyncpg

from services.timers import handlers
from services.timers.memory import MemoryStore
from shared.clock import Clock
from shared.contract import Envelope
from shared.contract.streams import INCIDENT
from shared.rebuild import InOrder, replay, run_cli
from shared.settings import Settings

BATCH = 5000  # messages per fetch: fewer, larger round trips to JetStream
ATTEMPTS = 5
LOCK_TIMEOUT = "10s"
TABLES = ("incidents", "workers", "steps_done", "stretches", "timers")


class TimersReplay:
    """Applies the stream's processed events, an aggregate's in sequence order (early ones wait)."""

    def __init__(self, store: MemoryStore, clock: Clock):
        self.store, self.apply = store, Apply(store, clock)
        # InOrder holds the applier, not a bound method of this object: that reference cycle would
        # keep the whole store alive after the rebuild, for a full collection to find among the rest.
        self.order = InOrder(self.apply)

    @property
    def applied(self) -> int:
        return self.apply.applied

    async def batch(self, events: list[Envelope]) -> None:
        processed = {
            row["event_id"]
            for row in await self.store.conn.fetch(
                "SELECT event_id FROM processed_events WHERE event_id = ANY($1::text[])", [e.id for e in events]
            )
        }
        for event in events:
            if event.id in processed:
                await self.order(event)

    async def finish(self) -> None:
        """What still waits behind a gap (an event parked live, so never processed) applies in order."""
        for _, waiting in sorted(self.order.take_waiting().items()):
            for event in waiting:
                await self.apply(event)


class Apply:
    """One event through the live handlers into the store, counted."""

    def __init__(self, store: MemoryStore, clock: Clock):
        self.store, self.clock, self.versions = store, clock, handlers.RulesByVersion()
        self.applied = 0

    async def __call__(self, event: Envelope) -> None:
        await handlers.apply(self.store, event, clock=self.clock, versions=self.versions)
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


@contextmanager
def _no_cycle_collection():
    """The replay keeps every timer, stretch and row it derives until the write: hundreds of thousands
    of live objects that each full collection would scan again (a fifth of a rebuild's time), for
    next to no cyclic garbage. The collector runs as before once the rebuild is over."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _rebuild(pool: asyncpg.Pool, js, clock: Clock, batch: int) -> int:
    with _no_cycle_collection():
        return await _replace_read_model(pool, js, clock, batch)


async def _replace_read_model(pool: asyncpg.Pool, js, clock: Clock, batch: int) -> int:
    async with pool.acquire() as conn, conn.transaction():
        # Writers wait from here on. Whatever they committed before is in processed_events and the
        # outbox, and on the stream up to its present end (an event is published before it is applied).
        await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        await conn.execute(f"LOCK TABLE {', '.join(TABLES)}, outbox IN EXCLUSIVE MODE")
        end = (await js.stream_info(INCIDENT.name)).state.last_seq
        store = await MemoryStore.load(conn, clock)
        replaying = TimersReplay(store, clock)
        await replay(js, INCIDENT.name, replaying.batch, batch=batch, until=end, owner="timers")
        await replaying.finish()
        await store.fire_known()
        await conn.execute(f"TRUNCATE {', '.join(TABLES)}")
        await store.write()
    return replaying.applied


def main() -> int:
    return run_cli("timers", "services.timers", Settings(), rebuild, "the timers' read model")


if __name__ == "__main__":
    sys.exit(main())

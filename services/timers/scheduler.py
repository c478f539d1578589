"""Firing timers: exactly once, never early, and never ahead of what the service has read.

Exactly once: due rows are locked ``FOR UPDATE SKIP LOCKED`` and marked fired in the
transaction that queues their event in the outbox, so replicas split the work and a
crash before commit leaves the timer pending (it fires after restart, late but once); a
replica paused mid-transaction holds its rows, so the others skip them rather than fire
them again. The timer's incident is locked too (shared, skipped when an event of it is
being applied), so a cadence's next occurrence, planned as one fires, is never missed by a
cancellation committed meanwhile.
Never early: a timer fires only when ``clock.now()`` has reached its ``due_at``.
Never ahead: while the incident stream has unapplied events, only timers due before the
latest applied event's time may fire (the stream is in time order: the incident service
stamps events as it stores them) — a rebuild replaying old events must not fire a timer
that a later event (a handover, a resolution) cancelled. Its other half is in the handler:
applying an event first fires the incident's timers due before it, as live processing did.

The timers service's own metrics: how late each timer fired (``warroom_timer_lateness_seconds``: fired
at minus due at, by kind) and how many fired (``warroom_timers_fired_total``). A timer's event carries
the trace of the event being applied when it fired there, else a trace of its own.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg
from prometheus_client import Counter, Histogram

from services.timers import readmodel
from services.timers.domain import Timer
from shared import logs, outbox, tracing
from shared.clock import Clock
from shared.contract import timer_type, validate
from shared.waking import woken_or_timeout

log = logs.get(__name__)
outage = logs.Throttled(log)

SOURCE = "warroom/timers"
CONSUMER = "timers-incident"

LATENESS = Histogram(
    "warroom_timer_lateness_seconds",
    "How long after its due time a timer fired (fired at minus due at), by kind",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0),
)
FIRED = Counter("warroom_timers_fired_total", "Timers fired, by kind", ["kind"])


async def fire_due(
    conn: asyncpg.Connection, *, until: datetime, fired_at: datetime, limit: int = 500, incident_id: str | None = None
) -> int:
    """In the caller's transaction: fire pending timers due by ``until``; returns how many."""
    rows = await readmodel.lock_due(conn, until, limit, incident_id)
    if not rows:
        return 0
    await readmodel.mark_fired(conn, [row["id"] for row in rows], fired_at)
    timers = [readmodel.timer(row) for row in rows]
    # A cadence is due again: its next occurrence is planned in the transaction that fires this one.
    if following := [timer.following() for timer in timers if timer.every is not None]:
        await readmodel.schedule(conn, following)
    # The batch's events queued together: two statements, not two per timer (P6 fires thousands a second).
    await outbox.add_many(conn, fired_events(timers, fired_at))
    return len(rows)


def fired_events(timers: list[Timer], fired_at: datetime) -> list[outbox.Queued]:
    """The fired timers' events, each a hop of its own, counted with their lateness."""
    fired = []
    for timer in timers:
        with tracing.within("timer", kind=timer.kind):
            fired.append(fired_event(timer, fired_at))
        LATENESS.labels(timer.kind).observe(max(0.0, (fired_at - timer.due_at).total_seconds()))
        FIRED.labels(timer.kind).inc()
    return fired


async def queue_fired(conn: asyncpg.Connection, timer: Timer, fired_at: datetime) -> None:
    """Queue the timer's event in the outbox, in the caller's transaction."""
    await outbox.add_many(conn, [fired_event(timer, fired_at)])


def fired_event(timer: Timer, fired_at: datetime) -> outbox.Queued:
    """The timer's event, carrying the current hop's trace (its firing's)."""
    event_type = timer_type(timer.kind)
    data = validate(
        event_type,
        {
            "timer_id": timer.id,
            "kind": timer.kind,
            "incident_id": timer.incident_id,
            "person": timer.person,
            "due_at": timer.due_at,
            "fired_at": fired_at,
            "detail": dict(timer.detail),
        },
    )
    # Keyed by the timer id: however often this timer is re-derived, its event keeps one id.
    return outbox.Queued(SOURCE, event_type, timer.incident_id, data, timer.id, fired_at, tracing.current_header())


class Scheduler:
    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: Clock,
        *,
        caught_up: Callable[[], Awaitable[bool]],
        on_fired: Callable[[], None] = lambda: None,
        poll_interval: float = 0.5,
        batch: int = 500,
    ):
        self.pool, self.clock, self.caught_up, self.on_fired = pool, clock, caught_up, on_fired
        self.poll_interval, self.batch = poll_interval, batch
        self.wake = asyncio.Event()

    async def tick(self) -> float:
        """Fire every timer that may fire now; returns the seconds until the next look."""
        now = self.clock.now()
        async with self.pool.acquire() as conn:
            earliest = await readmodel.next_due(conn)
            # Decide how far to fire only when something is due: a timer inserted after this
            # look is left for the next tick, so no stale decision ever applies to it.
            horizon = None if earliest is None or earliest > now else await self._horizon(conn, now)
            if horizon is not None:
                while True:
                    async with conn.transaction():
                        fired = await fire_due(conn, until=horizon, fired_at=now, limit=self.batch)
                    if fired:
                        self.on_fired()
                    if fired < self.batch:
                        break
                earliest = await readmodel.next_due(conn)
        if earliest is None or earliest <= now:  # nothing pending, or held back until the stream is read
            return self.poll_interval
        return min(self.poll_interval, (earliest - now).total_seconds())

    async def _horizon(self, conn: asyncpg.Connection, now: datetime) -> datetime | None:
        """The latest due time that may fire now (None: none yet)."""
        if await self.caught_up():
            return now
        applied = await readmodel.applied_until(conn, CONSUMER)
        return None if applied is None else min(now, applied)

    async def run(self) -> None:
        while True:
            try:
                # A dedicated connection hears new timers commit (any replica's) and wakes the loop.
                async with self.pool.acquire() as listener:
                    await listener.add_listener(readmodel.SCHEDULED_CHANNEL, self._on_scheduled)
                    try:
                        while True:
                            await self._sleep(await self.tick())
                    finally:
                        await listener.remove_listener(readmodel.SCHEDULED_CHANNEL, self._on_scheduled)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # PostgreSQL away: keep trying until it returns
                log.warning("timers_tick_failed", error=repr(exc))
                await asyncio.sleep(self.poll_interval)

    def _on_scheduled(self, *_notification) -> None:
        self.wake.set()

    async def _sleep(self, seconds: float) -> None:
        await woken_or_timeout(self.wake, seconds)
        self.wake.clear()


async def consumer_caught_up(js, stream: str, durable: str) -> bool:
    """Whether the durable consumer has applied every message of its stream; False when unsure."""
    try:
        info = await js.consumer_info(stream, durable, timeout=2.0)
    except Exception as exc:  # NATS away: fall back to the applied-until mark
        outage.warning("consumer_info_failed", consumer=durable, error=repr(exc))
        return False
    return info.num_pending == 0 and info.num_ack_pending == 0

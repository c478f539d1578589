"""The relay: every stored event, in store order, to JetStream; checkpoint only after the ack.

It runs in a process of its own beside each worker of the incident service (relay_process.py), so a
catch-up of many events is never in the requests' way: not on their event loop, not holding their
interpreter's lock; and while it catches up it keeps to ``CPU_SHARE`` of one core (``CpuBudget``), leaving
the rest of a 2-core machine to the requests, PostgreSQL and NATS.

Only one relay is active at a time across every worker and replica: the one holding a PostgreSQL advisory
lock; the others try to take it every ``WARROOM_POLL_INTERVAL`` (a worker or replica that stops lets it go
with its connection). The active relay is woken at once by every save, wherever it was made (any worker,
``WARROOM_WORKERS``, or replica): the recorder's insert runs ``NOTIFY`` on its channel, delivered at the
commit, and the relay ``LISTEN``s on that channel on the very connection that holds its lock. Losing that
connection (PostgreSQL restarted, the session killed) loses the lock and the notifications together, so the
relay stops, takes the lock again on a new connection (it or another worker's relay), listens again and
reads from its checkpoint: whatever was saved while nobody listened is read then. It also looks for stored
events every ``WARROOM_RELAY_POLL_INTERVAL`` (5 s), in case it was not told. (Polling alone, before, cost
the saves of the other workers up to the poll interval: P2c's relay lag p99 was 0.5–0.8 s on 2–3 workers.)

With NATS away, commands are still stored; the relay retries and catches up when NATS returns.
A crash between publish and checkpoint re-publishes with the same event ids, which
JetStream and the consumers drop as duplicates. Notification ids may have gaps (rolled-back
inserts); the store's table lock makes ids commit in order, so none is skipped.

Each event is published with the trace context it was stored in (``traceparent``, the CloudEvents
distributed-tracing extension; traced_events.py), and its lag (stored to acknowledged by JetStream)
is measured: ``warroom_relay_lag_seconds``, reported to the worker that serves ``/metrics``. An incident
event also carries its ``chainhash`` (the CloudEvents extension attribute of the same name,
chained_events.py), and the last one published of each incident is recorded in the checkpoint's statement
(published_heads.py), for the integrity check.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import asyncpg
from eventsourcing.persistence import Notification
from prometheus_client import Gauge, Histogram

from services.incident import published_heads, translate
from services.incident.chained_events import annotated
from shared import logs, natsio
from shared.contract import Envelope
from shared.waking import woken_or_timeout

log = logs.get(__name__)

RELAY_LOCK = 7_431_100
# Events per batch. A batch is published in one burst that keeps the relay's process and NATS busy together;
# smaller bursts leave the requests less to wait behind (bench p1-relay on one machine, command p99 while
# catching up: 500 a batch 13-14 ms, 100 10 ms, 50 9-11 ms, quiet 4-5 ms; 3,400, 3,100 and 2,800 events/s).
BATCH = 50
PUBLISHED_WITHIN = 10.0  # seconds for JetStream to acknowledge a batch
# Of one core, for the relay's process while it catches up: at full speed it took a core of the two, and the
# requests, PostgreSQL and NATS shared the other.
CPU_SHARE = 0.5
POSITION = Gauge("warroom_relay_position", "Last notification id published and checkpointed")
LAG = Histogram(
    "warroom_relay_lag_seconds",
    "From an event's storing (its time) to JetStream's acknowledgement of its publication",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)


def envelopes(app, notifications: list[Notification]) -> list[Envelope]:
    out = []
    for notification in notifications:
        event, traceparent, chainhash = annotated(app.mapper, notification)
        envelope = translate.to_envelope(event, notification.id)
        if envelope is not None:
            out.append(envelope.extended(traceparent=traceparent, chainhash=chainhash))
    return out


def lags(published: list[Envelope]) -> list[float]:
    """Each event's lag: from its storing (its time) to now, JetStream's acknowledgement."""
    now = time.time()
    return [max(0.0, now - envelope.time.timestamp()) for envelope in published]


def observe(position: int, lagged: list[float]) -> None:
    """The relay's figures, in the metrics of the process that serves them."""
    POSITION.set(position)
    for lag in lagged:
        LAG.observe(lag)


class CpuBudget:
    """The relay's process kept to ``share`` of one core, batch by batch: ``rest`` sleeps while the CPU it
    used since it last rested is over its share of the time gone by (idle time counts, so a relay that
    keeps up never rests)."""

    def __init__(self, share: float = CPU_SHARE):
        self.share, self.cpu, self.since = share, time.process_time(), time.monotonic()

    async def rest(self) -> None:
        owed = (time.process_time() - self.cpu) / self.share - (time.monotonic() - self.since)
        await asyncio.sleep(max(0.0, owed))
        self.cpu, self.since = time.process_time(), time.monotonic()


def closed(conn: asyncpg.Connection) -> bool:
    """asyncpg hands a pooled connection that closed back to its pool at once; its proxy then refuses every call."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


class LostConnection(ConnectionError):
    """The connection holding the relay's lock and its notifications is gone: both are lost."""


class Relay:
    def __init__(
        self,
        app,
        js,
        pool: asyncpg.Pool,
        poll_interval: float = 0.5,
        relay_poll_interval: float = 5.0,
        report: Callable[[int, list[float]], None] = observe,
    ):
        # poll_interval: how often a relay on standby tries to take the lock; relay_poll_interval: how often the
        # active relay looks for events it was not told of; report: each batch's position and lags, once checkpointed.
        self.app, self.js, self.pool = app, js, pool
        self.poll_interval, self.relay_poll_interval, self.report = poll_interval, relay_poll_interval, report
        self.channel: str = app.recorder.channel_name  # where the recorder's insert NOTIFYs
        self.wake = asyncio.Event()
        self.budget = CpuBudget()
        self.failures = 0
        self.outage = logs.Throttled(log)

    async def run(self) -> None:
        while True:
            try:
                async with self.pool.acquire() as conn:
                    if await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK):
                        try:
                            async with self._listening(conn):
                                await self._relay(conn)
                        finally:
                            if not closed(conn):
                                await conn.execute("SELECT pg_advisory_unlock($1)", RELAY_LOCK)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS or PostgreSQL away: keep trying, ever more patiently, until they return
                self.failures += 1
                self.outage.warning("relay_failed", error=repr(exc), failures=self.failures)
                await asyncio.sleep(min(0.1 * self.failures, 2.0))
                continue
            await asyncio.sleep(self.poll_interval)  # on standby: another worker or replica relays

    @asynccontextmanager
    async def _listening(self, conn: asyncpg.Connection) -> AsyncIterator[None]:
        """Woken by every save's notification, and when the connection (with the lock) is lost."""

        def told(*_: object) -> None:
            self.wake.set()

        await conn.add_listener(self.channel, told)
        conn.add_termination_listener(told)
        log.info("relay_listening", channel=self.channel)
        try:
            yield
        finally:
            if not closed(conn):
                conn.remove_termination_listener(told)
                await conn.remove_listener(self.channel, told)

    async def _relay(self, conn: asyncpg.Connection) -> None:
        position = await conn.fetchval("SELECT position FROM relay_checkpoint WHERE id = 1")
        while True:
            # Checked before reading: a relay that lost its lock must not publish beside the one that took it.
            if closed(conn):
                raise LostConnection("the relay's connection closed: its lock and notifications went with it")
            notifications = await asyncio.to_thread(
                self.app.recorder.select_notifications, start=position + 1, limit=BATCH
            )
            if not notifications:
                await self._idle()
                continue
            # The checkpoint moves only once JetStream has acknowledged the whole batch.
            published = await self._publish(notifications)
            lagged = lags(published)
            position = notifications[-1].id
            await published_heads.checkpoint(conn, position, published)
            self.report(position, lagged)
            self.failures = 0
            await self.budget.rest()

    async def _publish(self, notifications: list[Notification]) -> list[Envelope]:
        """Send the batch's events, the whole batch in flight; then wait for every acknowledgement."""
        published = envelopes(self.app, notifications)
        acks = [await natsio.publish_async(self.js, envelope) for envelope in published]
        async with asyncio.timeout(PUBLISHED_WITHIN):
            await asyncio.gather(*acks)
        return published

    async def _idle(self) -> None:
        await woken_or_timeout(self.wake, self.relay_poll_interval)
        self.wake.clear()

"""The consumer loop: fetch a batch, apply it in one transaction, commit, then acknowledge.

A handler is ``async def handle(conn, event) -> None`` and runs inside the transaction
that also records the event as processed, so an event's effect is committed exactly
once however often JetStream delivers it. The events of a fetched batch are applied together
(``shared/consumer_batch.py``: one commit for all, the acknowledgements after it); a handler may
offer a form for many events at once (``Batched``). On the incident stream, one aggregate's events
are applied in ``sequence`` order: a duplicate (``<= last``) is acknowledged and skipped,
a gap (``> last + 1``) is nak'ed with a short delay so the missing event arrives first.

No poison message (F13). A batch that fails is applied again one event at a time, each in its own
transaction, so one event that cannot be applied holds back none of the others; a redelivered event
is always applied alone. A message whose handler fails ``max_deliver`` times — at once, for a
failure no retry can mend (a body that is no event, data PostgreSQL refuses to store) — is parked
in ``parked_events`` and acknowledged; on an ordered stream its aggregate then moves past it. Only
that aggregate's later events wait while it is retried: every other incident's events are applied
meanwhile. It is counted (``warroom_events_parked_total``) and logged once, when parked, with the
reason; the retries before are not logged. After a fix, ``python -m shared.parked replay`` marks
parked events for replay, and this loop applies them with the same handler (``shared/poison.py``).

An unreachable database is not the event's fault: such failures are retried for as long as it
takes, and logged at most once every few seconds (``logs.Throttled``).

Each event is handled as a hop of the trace it carries (``shared.tracing``; a new trace when it carries
none): what the handler stores or queues carries that trace on. Every delivery updates the durable's
``warroom_consumer_pending_messages`` (what JetStream has still to deliver, from the message's own
metadata: no extra request) and counts a redelivery in ``warroom_consumer_redeliveries_total``.
"""

import asyncio

import asyncpg
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge
from pydantic import ValidationError

from shared import db, logs, tracing
from shared.consumer_batch import Batched, Handler, Outcome, apply_batch
from shared.contract import Consumer, Envelope
from shared.poison import park, replay_requested
from shared.pull import Pull

__all__ = ["Batched", "Handler", "Outcome", "handle_batch", "handle_message", "run"]

log = logs.get(__name__)

APPLIED = Counter("warroom_events_applied_total", "Events applied by a consumer", ["consumer"])
DUPLICATES = Counter("warroom_events_duplicate_total", "Deliveries skipped as already applied", ["consumer"])
FAILURES = Counter("warroom_events_failed_total", "Handler failures (nak'ed for redelivery)", ["consumer"])
PENDING = Gauge(
    "warroom_consumer_pending_messages",
    "Messages of the stream not yet delivered to the durable consumer, as of its latest delivery",
    ["durable"],
)
REDELIVERIES = Counter(
    "warroom_consumer_redeliveries_total",
    "Deliveries of a message delivered before (nak'ed or not acknowledged in time)",
    ["durable"],
)

outage = logs.Throttled(log)

GAP_DELAY = 0.2
# An event still waiting behind a gap after that is asked for less and less often, up to this (seconds): after a
# crash, the messages a consumer had taken come again only after the acknowledgement wait, and until then every
# event behind them is a gap — at a fixed delay, a thousand of them each applied and rolled back five times a
# second, the service's CPU spent on nothing (bench p1-relay, a worker restarted during a catch-up).
GAP_DELAY_MAX = 5.0
# Messages fetched, and applied in one transaction, at a time: a catch-up commits once per this many events.
BATCH = 250
# How often a consumer looks for parked events an operator asked to replay (seconds).
REPLAY_CHECK_EVERY = 2.0

# Failures of the infrastructure, not of the event: never a reason to park it.
UNAVAILABLE = db.UNAVAILABLE
# Failures of the event itself, the same on every delivery: parked at the first.
HOPELESS = (ValidationError, UnicodeDecodeError, asyncpg.DataError)


def backoff(attempt: int) -> float:
    return min(0.25 * 2.0 ** (attempt - 1), 10.0)


def gap_delay(attempt: int) -> float:
    return min(GAP_DELAY * 2.0 ** (attempt - 1), GAP_DELAY_MAX)


async def apply(conn: asyncpg.Connection, consumer: Consumer, event: Envelope, handle: Handler) -> str:
    """Apply one event in its own transaction; returns what happened."""
    async with conn.transaction():
        first = await conn.fetchval(
            "INSERT INTO processed_events (event_id, type) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
            event.id,
            event.type,
        )
        if not first:
            return Outcome.DUPLICATE
        if consumer.ordered:
            last = (
                await conn.fetchval(
                    "SELECT last_sequence FROM applied_sequences WHERE stream = $1 AND subject = $2 FOR UPDATE",
                    consumer.stream.name,
                    event.subject,
                )
                or 0
            )
            if event.sequence <= last:
                return Outcome.DUPLICATE
            if event.sequence > last + 1:
                raise _Gap()
            await conn.execute(
                "INSERT INTO applied_sequences (stream, subject, last_sequence) VALUES ($1, $2, $3) "
                "ON CONFLICT (stream, subject) DO UPDATE SET last_sequence = EXCLUDED.last_sequence",
                consumer.stream.name,
                event.subject,
                event.sequence,
            )
        await handle(conn, event)
    return Outcome.APPLIED


class _Gap(Exception):
    """Rolls the transaction back (the event was not applied) and asks for redelivery."""


async def handle_message(pool: asyncpg.Pool, consumer: Consumer, msg: Msg, handle: Handler, max_deliver: int) -> str:
    metadata = msg.metadata
    attempt = metadata.num_delivered
    PENDING.labels(consumer.durable).set(metadata.num_pending)
    if attempt > 1:
        REDELIVERIES.labels(consumer.durable).inc()
    try:
        event = Envelope.from_bytes(msg.data)
        with tracing.hop(event.traceparent, "consume", durable=consumer.durable) as context:
            with structlog.contextvars.bound_contextvars(trace_id=context.trace_id, event_id=event.id):
                async with pool.acquire() as conn:
                    outcome = await apply(conn, consumer, event, handle)
    except _Gap:
        await msg.nak(delay=gap_delay(attempt))
        return Outcome.GAP
    except UNAVAILABLE as exc:
        outage.warning(
            "event_deferred", kind=f"event_deferred:{consumer.durable}", consumer=consumer.durable, error=repr(exc)
        )
        await msg.nak(delay=backoff(min(attempt, 6)))
        return "deferred"
    except Exception as exc:  # the handler failed on this event: retry, then park
        FAILURES.labels(consumer.durable).inc()
        if attempt >= max_deliver or isinstance(exc, HOPELESS):
            try:
                await park(pool, consumer, msg.data, repr(exc))
            except UNAVAILABLE:
                await msg.nak(delay=backoff(attempt))
                return "deferred"
            log.error(
                "event_parked",
                consumer=consumer.durable,
                attempt=attempt,
                error=repr(exc),
                event_id=_id_of(msg.data),
                detail="python -m shared.parked replay replays it after a fix",
            )
            await msg.ack()
            return "parked"
        log.debug("event_failed", consumer=consumer.durable, attempt=attempt, error=repr(exc))
        await msg.nak(delay=backoff(attempt))
        return "failed"
    await msg.ack()
    (APPLIED if outcome == Outcome.APPLIED else DUPLICATES).labels(consumer.durable).inc()
    return outcome


async def handle_batch(
    pool: asyncpg.Pool, consumer: Consumer, msgs: list[Msg], handle: Handler, max_deliver: int
) -> None:
    """Redeliveries one by one (a gap's waiting event, a failure's retry), then the first deliveries in one
    transaction; acknowledged (gaps nak'ed) after its commit. A batch that fails is applied one by one."""
    fresh: list[Msg] = []
    events: list[Envelope] = []
    for msg in msgs:
        if msg.metadata.num_delivered > 1:
            await handle_message(pool, consumer, msg, handle, max_deliver)
            continue
        try:
            events.append(Envelope.from_bytes(msg.data))
        except (ValidationError, ValueError):
            await handle_message(pool, consumer, msg, handle, max_deliver)  # parks it
            continue
        fresh.append(msg)
    if not fresh:
        return
    PENDING.labels(consumer.durable).set(fresh[-1].metadata.num_pending)
    try:
        async with pool.acquire() as conn:
            outcomes = await apply_batch(conn, consumer, events, handle)
    except UNAVAILABLE as exc:
        outage.warning(
            "event_deferred", kind=f"event_deferred:{consumer.durable}", consumer=consumer.durable, error=repr(exc)
        )
        for msg in fresh:
            await msg.nak(delay=backoff(1))
        return
    except Exception as exc:  # one of the events failed: the others must not wait for it (F13)
        log.debug("batch_failed", consumer=consumer.durable, events=len(fresh), error=repr(exc))
        for msg in fresh:
            await handle_message(pool, consumer, msg, handle, max_deliver)
        return
    for msg, outcome in zip(fresh, outcomes, strict=True):
        if outcome == Outcome.GAP:
            await msg.nak(delay=GAP_DELAY)
        else:
            await msg.ack()
    _count(consumer, outcomes)


def _count(consumer: Consumer, outcomes: list[str]) -> None:
    if applied := outcomes.count(Outcome.APPLIED):
        APPLIED.labels(consumer.durable).inc(applied)
    if duplicates := outcomes.count(Outcome.DUPLICATE):
        DUPLICATES.labels(consumer.durable).inc(duplicates)


def _id_of(raw: bytes) -> str | None:
    try:
        return Envelope.from_bytes(raw).id
    except (ValidationError, ValueError):
        return None


async def run(
    js: JetStreamContext,
    pool: asyncpg.Pool,
    consumer: Consumer,
    handle: Handler,
    *,
    max_deliver: int,
    batch: int = BATCH,
    idle_wait: float = 1.0,
) -> None:
    """Consume until cancelled. The consumer must have been declared (natsio.ensure_consumer).

    The next batch is fetched while this one is applied: NATS and PostgreSQL work at the same time. Cancelled
    (the service stopping), it hands back every message it holds and has not acknowledged, so that the next
    consumer has them at once: else they would come again only after the acknowledgement wait, and the
    events behind them would wait as gaps until then."""
    next_replay_check = 0.0
    async with Pull(js, consumer.stream.name, consumer.durable) as pull:
        fetching: asyncio.Future[list[Msg]] | None = None
        msgs: list[Msg] = []
        try:
            while True:
                if (now := asyncio.get_running_loop().time()) >= next_replay_check:
                    next_replay_check = now + REPLAY_CHECK_EVERY
                    await replay_requested(pool, consumer, handle)
                try:
                    msgs = await (fetching or pull.fetch(batch, timeout=idle_wait))
                except Exception as exc:  # NATS away or the consumer refused: keep trying until it returns
                    durable = consumer.durable
                    outage.warning("fetch_failed", kind=f"fetch_failed:{durable}", consumer=durable, error=repr(exc))
                    await asyncio.sleep(1.0)
                    continue
                finally:
                    fetching = None
                if msgs:
                    fetching = asyncio.ensure_future(pull.fetch(batch, timeout=idle_wait))
                    await handle_batch(pool, consumer, msgs, handle, max_deliver)
        finally:
            held = [*msgs, *pull.take_received()]
            if fetching is not None:
                fetching.cancel()
                [prefetched] = await asyncio.gather(fetching, return_exceptions=True)
                if isinstance(prefetched, list):
                    held += prefetched
                held += pull.take_received()
            await _hand_back(held)


async def _hand_back(msgs: list[Msg]) -> None:
    """Negative acknowledgements, without delay, for the messages of ``msgs`` not acknowledged yet."""
    for msg in msgs:
        if not msg.is_acked:  # acknowledged, negatively or not, or terminated
            try:
                await msg.nak()
            except Exception as exc:  # noqa: BLE001 — NATS away: the acknowledgement wait brings them back
                log.debug("hand_back_failed", error=repr(exc))
                return

"""Many events in one transaction: what the consumer loop (``shared/consumer.py``) applies per fetched batch.

Each event of the batch is recorded in ``processed_events`` in the same transaction as its effect, so a
batch delivered again — JetStream redelivers whatever was not acknowledged, and acknowledgements come
only after the commit — finds every event recorded and applies none twice. The batch costs one commit
(one fsync) instead of one per event, which is what lets a consumer catch up at the stream's speed.

On an ordered stream one aggregate's events are applied in ``sequence`` order: an event that arrives
before its predecessor within the batch waits for it there (``in_order``), as ``shared.rebuild.InOrder``
does in a replay; one whose predecessor is not in the batch is a gap, left unrecorded and asked for
again. Events of different aggregates keep the order in which the stream delivered them.
"""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

import asyncpg
import structlog

from shared import tracing
from shared.contract import Consumer, Envelope

Handler = Callable[[asyncpg.Connection, Envelope], Awaitable[None]]
ManyHandler = Callable[[asyncpg.Connection, list[Envelope]], Awaitable[None]]


class Outcome:
    APPLIED, DUPLICATE, GAP = "applied", "duplicate", "gap"


@dataclass(frozen=True)
class Batched:
    """A handler with a form for many events: ``many`` applies them, in the order given, in the
    transaction that records them (say, a table's rows in one statement), with the effect of
    ``one`` applied to each in turn. ``one`` still serves single events (a batch retried one by
    one after a failure, a parked event replayed)."""

    one: Handler
    many: ManyHandler

    async def __call__(self, conn: asyncpg.Connection, event: Envelope) -> None:
        await self.one(conn, event)


@dataclass
class Ordering:
    """What ``in_order`` decided for a batch: positions in the batch to apply, in this order, and the gaps."""

    apply: list[int] = field(default_factory=list)
    gaps: list[int] = field(default_factory=list)
    last: dict[str, int] = field(default_factory=dict)  # subject → last sequence once the batch is applied


def in_order(events: Sequence[Envelope], positions: Sequence[int], last: dict[str, int]) -> Ordering:
    """Order the events at ``positions`` (first deliveries of events not processed before) so that each
    aggregate's follow on from ``last`` (its last applied sequence) one by one; what cannot follow is a
    gap, and one at or below what is applied is left out (a duplicate)."""
    ordering = Ordering(last=dict(last))
    waiting: dict[str, dict[int, int]] = defaultdict(dict)  # subject → sequence → position
    for position in positions:
        event = events[position]
        subject, sequence = event.subject, event.sequence
        done = ordering.last.get(subject, 0)
        if sequence <= done or sequence in waiting[subject]:
            continue
        if sequence > done + 1:
            waiting[subject][sequence] = position
            continue
        ordering.apply.append(position)
        while (follower := waiting[subject].pop(sequence + 1, None)) is not None:
            ordering.apply.append(follower)
            sequence += 1
        ordering.last[subject] = sequence
    ordering.gaps = sorted(position for early in waiting.values() for position in early.values())
    return ordering


async def apply_batch(
    conn: asyncpg.Connection, consumer: Consumer, events: Sequence[Envelope], handle: Handler
) -> list[str]:
    """Apply the batch in one transaction; returns what happened to each event, by position."""
    outcomes = [Outcome.DUPLICATE] * len(events)
    async with conn.transaction():
        first_time = await _record_processed(conn, events)
        if consumer.ordered:
            locked = await _lock_sequences(conn, consumer, events, first_time)
            ordering = in_order(events, first_time, locked)
            if ordering.gaps:  # not applied now, so not processed: asked for again after the gap closes
                await conn.execute(
                    "DELETE FROM processed_events WHERE event_id = ANY($1::text[])",
                    [events[position].id for position in ordering.gaps],
                )
            await _save_sequences(conn, consumer, {s: n for s, n in ordering.last.items() if locked.get(s) != n})
            applying = ordering.apply
            for position in ordering.gaps:
                outcomes[position] = Outcome.GAP
        else:
            applying = first_time
        for position in applying:
            outcomes[position] = Outcome.APPLIED
        await _handle(conn, consumer, [events[position] for position in applying], handle)
    return outcomes


async def _record_processed(conn: asyncpg.Connection, events: Sequence[Envelope]) -> list[int]:
    """Record the batch's events as processed; the positions of those recorded now (not before, and not
    earlier in the batch), in batch order. Inserted in id order, as two replicas given the same events
    (a redelivery while the first is still at work) would otherwise each wait for the other."""
    by_id = sorted({event.id: event.type for event in events}.items())
    recorded = {
        row["event_id"]
        for row in await conn.fetch(
            "INSERT INTO processed_events (event_id, type) SELECT * FROM unnest($1::text[], $2::text[]) "
            "ON CONFLICT DO NOTHING RETURNING event_id",
            [event_id for event_id, _ in by_id],
            [kind for _, kind in by_id],
        )
    }
    positions = []
    for position, event in enumerate(events):
        if event.id in recorded:
            recorded.discard(event.id)  # a second copy in the same batch is a duplicate
            positions.append(position)
    return positions


async def _lock_sequences(
    conn: asyncpg.Connection, consumer: Consumer, events: Sequence[Envelope], positions: Sequence[int]
) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT subject, last_sequence FROM applied_sequences WHERE stream = $1 AND subject = ANY($2::text[]) "
        "ORDER BY subject FOR UPDATE",
        consumer.stream.name,
        sorted({events[position].subject for position in positions}),
    )
    return {row["subject"]: row["last_sequence"] for row in rows}


async def _save_sequences(conn: asyncpg.Connection, consumer: Consumer, last: dict[str, int]) -> None:
    if not last:
        return
    subjects = sorted(last)
    await conn.execute(
        "INSERT INTO applied_sequences (stream, subject, last_sequence) "
        "SELECT $1, * FROM unnest($2::text[], $3::bigint[]) "
        "ON CONFLICT (stream, subject) DO UPDATE SET last_sequence = EXCLUDED.last_sequence",
        consumer.stream.name,
        subjects,
        [last[subject] for subject in subjects],
    )


async def _handle(conn: asyncpg.Connection, consumer: Consumer, events: list[Envelope], handle: Handler) -> None:
    """Each event as a hop of the trace it carries; a ``Batched`` handler's ``many`` takes them all at once,
    within every one of their hops."""
    if isinstance(handle, Batched):
        with ExitStack() as hops:
            for event in events:
                hops.enter_context(tracing.hop(event.traceparent, "consume", durable=consumer.durable))
            await handle.many(conn, events)
        return
    for event in events:
        with tracing.hop(event.traceparent, "consume", durable=consumer.durable) as context:
            with structlog.contextvars.bound_contextvars(trace_id=context.trace_id, event_id=event.id):
                await handle(conn, event)

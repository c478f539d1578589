"""The consumer loop's batches on real NATS and PostgreSQL: a fetched batch is applied in one transaction,
still exactly once, in order per incident, and a poison event in it holds back none of the others."""

import asyncio
from datetime import UTC, datetime

import pytest
from nats.aio.msg import Msg
from prometheus_client import REGISTRY

from shared import consumer, db, natsio
from shared.contract import Consumer, Envelope, event_id
from shared.contract.streams import INCIDENT as INCIDENT_STREAM
from tests.support.incident import eventually

SCHEMA = "batches"
TABLE = ("900_probe.sql", "CREATE TABLE applied (n serial PRIMARY KEY, subject text, sequence int, person text);")
PROBE = Consumer(INCIDENT_STREAM, "batches", ordered=True)


def _event(subject: str, sequence: int, person: str = "p") -> Envelope:
    return Envelope(
        id=event_id(subject, sequence),
        source="test",
        type="warroom.incident.worker_added.v1",
        subject=subject,
        time=datetime.now(UTC),
        data={"person": person, "by": "m"},
        sequence=sequence,
        position=sequence,
    )


class Recording:
    """Applies an event as a row; fails on the person "poison"; counts its calls."""

    def __init__(self):
        self.calls = 0

    async def __call__(self, conn, event) -> None:
        self.calls += 1
        if event.data["person"] == "poison":
            raise ValueError("this event cannot be applied")
        await conn.execute(
            "INSERT INTO applied (subject, sequence, person) VALUES ($1, $2, $3)",
            event.subject,
            event.sequence,
            event.data["person"],
        )


@pytest.fixture
async def harness(database_url, nats_url):
    """The stream, the schema and the consumer declared (acks awaited 1 s); ``start()`` starts the loop."""
    pool = await db.create_pool(database_url, SCHEMA)
    await db.migrate(pool, SCHEMA, db.migration_files("shared") + [TABLE])
    nc = await natsio.connect(nats_url, "batches")
    js = nc.jetstream()
    await natsio.ensure_streams(js)
    await natsio.ensure_consumer(js, PROBE, ack_wait=1)
    handler, tasks = Recording(), []

    def start() -> None:
        run = consumer.run(js, pool, PROBE, handler, max_deliver=3, idle_wait=0.2)
        tasks.append(asyncio.create_task(run))

    yield pool, js, handler, start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await nc.close()
    await pool.close()


async def _publish(js, *events: Envelope, copy: str = "") -> None:
    """Each event as a message of its own (``copy`` names a second copy JetStream will not de-duplicate)."""
    for envelope in events:
        await js.publish(envelope.type, envelope.to_bytes(), headers={"Nats-Msg-Id": envelope.id + copy})


async def _rows(pool, count: int):
    rows = await pool.fetch("SELECT subject, sequence, person FROM applied ORDER BY n")
    return rows if len(rows) >= count else None


async def _transactions(pool) -> int:
    """How many transactions recorded the processed events (``processed_at`` is a transaction's start)."""
    return await pool.fetchval("SELECT count(DISTINCT processed_at) FROM processed_events")


async def test_f4_a_whole_batch_delivered_again_after_its_commit_applies_nothing_twice(harness, monkeypatch):
    pool, js, handler, start = harness
    events = [_event(f"inc-{n % 4}", n // 4 + 1) for n in range(20)]
    await _publish(js, *events)
    redelivered_before = _redeliveries()
    # The process dies between the commit and the acknowledgements: none of them reaches JetStream.
    dropped: list[Msg] = []

    async def lost(msg: Msg) -> None:
        dropped.append(msg)

    monkeypatch.setattr(Msg, "ack", lost)
    start()
    await eventually(lambda: _rows(pool, 20))
    monkeypatch.undo()
    assert len(dropped) >= 20 and await _transactions(pool) == 1  # one batch, one transaction
    # After the acknowledgement wait JetStream delivers the whole batch again: all recognised, none applied.
    await eventually(lambda: _redeliveries() >= redelivered_before + 20, timeout=10)
    await asyncio.sleep(1.5)  # longer than the acknowledgement wait: acknowledged now, nothing comes again
    assert len(await pool.fetch("SELECT * FROM applied")) == 20 and handler.calls == 20
    assert await pool.fetchval("SELECT count(*) FROM processed_events") == 20
    assert _redeliveries() == redelivered_before + len(dropped)


def _redeliveries() -> float:
    return REGISTRY.get_sample_value("warroom_consumer_redeliveries_total", {"durable": PROBE.durable}) or 0.0


async def test_f4_copies_of_applied_events_in_one_batch_apply_nothing(harness):
    pool, js, handler, start = harness
    first = [_event("inc-a", 1), _event("inc-a", 2), _event("inc-b", 1)]
    await _publish(js, *first)
    start()
    await eventually(lambda: _rows(pool, 3))
    # Copies JetStream cannot recognise (re-published after a crash), twice each, in one batch with a new event.
    await _publish(js, *first, copy=":again")
    await _publish(js, *first, _event("inc-b", 2), copy=":and-again")
    await eventually(lambda: _rows(pool, 4))
    await asyncio.sleep(0.5)
    rows = await _rows(pool, 4)
    assert [(r["subject"], r["sequence"]) for r in rows] == [
        ("inc-a", 1),
        ("inc-a", 2),
        ("inc-b", 1),
        ("inc-b", 2),
    ]
    assert len(rows) == 4 and handler.calls == 4


async def test_f5_within_a_batch_each_incidents_events_apply_in_sequence_order(harness):
    pool, js, handler, start = harness
    # Out of order, interleaved, and one incident (inc-c) missing its first event.
    await _publish(
        js,
        _event("inc-a", 3),
        _event("inc-b", 1),
        _event("inc-a", 1),
        _event("inc-c", 2),
        _event("inc-b", 2),
        _event("inc-a", 2),
    )
    start()
    rows = await eventually(lambda: _rows(pool, 5))
    by_subject = {s: [r["sequence"] for r in rows if r["subject"] == s] for s in ("inc-a", "inc-b", "inc-c")}
    assert by_subject == {"inc-a": [1, 2, 3], "inc-b": [1, 2], "inc-c": []}
    assert await _transactions(pool) == 1  # in order within the one batch, not after redeliveries
    # The event behind the gap was not recorded as processed: it applies once its predecessor comes.
    assert not await pool.fetchval("SELECT count(*) FROM processed_events WHERE event_id = $1", event_id("inc-c", 2))
    await _publish(js, _event("inc-c", 1))
    rows = await eventually(lambda: _rows(pool, 7), timeout=15)
    assert [r["sequence"] for r in rows if r["subject"] == "inc-c"] == [1, 2]


async def test_f13_a_poison_event_inside_a_batch_is_parked_while_the_rest_apply(harness):
    pool, js, handler, start = harness
    healthy = [_event(f"inc-{n}", 1) for n in range(8)]
    await _publish(js, *healthy[:4], _event("inc-poison", 1, "poison"), *healthy[4:], _event("inc-poison", 2))
    start()
    # The batch fails as a whole, then every other event applies one by one while the poison one is retried.
    rows = await eventually(lambda: _rows(pool, 8), timeout=3)
    assert sorted(r["subject"] for r in rows) == sorted(e.subject for e in healthy)
    assert await pool.fetch("SELECT * FROM parked_events") == []
    # Parked after max_deliver attempts; then its incident moves on past it.
    parked = await eventually(lambda: pool.fetch("SELECT * FROM parked_events"), timeout=15)
    assert [p["event_id"] for p in parked] == [event_id("inc-poison", 1)]
    rows = await eventually(lambda: _rows(pool, 9), timeout=10)
    assert [(r["subject"], r["sequence"]) for r in rows if r["subject"] == "inc-poison"] == [("inc-poison", 2)]
    assert await pool.fetchval("SELECT count(*) FROM processed_events") == 9  # the poison event is not processed

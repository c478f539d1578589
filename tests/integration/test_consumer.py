"""The shared consumer loop on real NATS and PostgreSQL: once in effect, in order, poison parked."""

import asyncio
from datetime import UTC, datetime

import pytest

from shared import consumer, db, natsio
from shared.contract import Consumer, Envelope, event_id
from shared.contract.streams import INCIDENT as INCIDENT_STREAM
from tests.support.incident import eventually

SCHEMA = "probe"
TABLE = ("900_probe.sql", "CREATE TABLE applied (subject text, sequence int, event_id text);")


def _event(subject: str, sequence: int, kind: str = "warroom.incident.worker_added.v1") -> Envelope:
    return Envelope(
        id=event_id(subject, sequence),
        source="test",
        type=kind,
        subject=subject,
        time=datetime.now(UTC),
        data={"person": "p", "by": "m"},
        sequence=sequence,
        position=sequence,
    )


async def _record(conn, event):
    if event.data.get("person") == "poison":
        raise ValueError("this event cannot be applied")
    await conn.execute("INSERT INTO applied VALUES ($1, $2, $3)", event.subject, event.sequence, event.id)


@pytest.fixture
async def harness(database_url, nats_url):
    pool = await db.create_pool(database_url, SCHEMA)
    await db.migrate(pool, SCHEMA, db.migration_files("shared") + [TABLE])
    nc = await natsio.connect(nats_url, "probe")
    js = nc.jetstream()
    await natsio.ensure_streams(js)
    probe = Consumer(INCIDENT_STREAM, "probe", ordered=True)
    await natsio.ensure_consumer(js, probe, ack_wait=5)
    task = asyncio.create_task(consumer.run(js, pool, probe, _record, max_deliver=3, idle_wait=0.2))
    yield pool, js
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await nc.close()
    await pool.close()


async def _publish_raw(js, envelope: Envelope, msg_id: str):
    """Publish bypassing JetStream's de-duplication, as a redelivery or a replayed stream would."""
    await js.publish(envelope.type, envelope.to_bytes(), headers={"Nats-Msg-Id": msg_id})


async def test_f4_a_redelivered_event_is_applied_once(harness):
    pool, js = harness
    event = _event("inc-1", 1)
    for attempt in range(3):
        await _publish_raw(js, event, f"copy-{attempt}")
    await _publish_raw(js, _event("inc-1", 2), "second")
    rows = await eventually(lambda: _rows(pool, 2))
    assert [r["sequence"] for r in rows] == [1, 2]


async def test_f5_one_aggregates_events_apply_in_sequence_order(harness):
    pool, js = harness
    for sequence in (3, 1, 2):
        await _publish_raw(js, _event("inc-2", sequence), f"inc-2-{sequence}")
    rows = await eventually(lambda: _rows(pool, 3), timeout=15)
    assert [r["sequence"] for r in rows] == [1, 2, 3]


async def test_a_poison_message_is_parked_after_max_deliver_and_the_rest_flows(harness):
    pool, js = harness
    poison = _event("inc-3", 1).model_copy(update={"data": {"person": "poison", "by": "m"}})
    await _publish_raw(js, poison, "poison")
    await _publish_raw(js, _event("inc-4", 1), "healthy")
    await eventually(lambda: _rows(pool, 1), timeout=15)
    parked = await eventually(lambda: pool.fetch("SELECT * FROM parked_events"), timeout=20)
    assert parked[0]["event_id"] == poison.id and "cannot be applied" in parked[0]["error"]
    assert await pool.fetchval("SELECT count(*) FROM applied WHERE subject = 'inc-3'") == 0


async def test_an_event_waiting_behind_a_gap_is_never_dropped(harness):
    pool, js = harness
    await _publish_raw(js, _event("inc-5", 2), "inc-5-2")
    await asyncio.sleep(2.5)  # far longer than max_deliver gap naks: the waiting event must survive them
    await _publish_raw(js, _event("inc-5", 1), "inc-5-1")
    rows = await eventually(lambda: _rows(pool, 2), timeout=15)
    assert [r["sequence"] for r in rows] == [1, 2]


async def test_after_a_poison_event_is_parked_its_aggregates_later_events_still_apply(harness):
    pool, js = harness
    poison = _event("inc-6", 1).model_copy(update={"data": {"person": "poison", "by": "m"}})
    await _publish_raw(js, poison, "inc-6-1")
    await _publish_raw(js, _event("inc-6", 2), "inc-6-2")
    rows = await eventually(lambda: _rows(pool, 1), timeout=20)
    assert [(r["subject"], r["sequence"]) for r in rows] == [("inc-6", 2)]


async def _rows(pool, count):
    rows = await pool.fetch("SELECT * FROM applied ORDER BY subject, sequence")
    return rows if len(rows) >= count else None


async def test_f4_a_consumer_stopped_mid_batch_hands_its_messages_back_for_the_next_at_once(database_url, nats_url):
    """Stopped while applying a batch (the service restarted during a catch-up), the consumer nak's what it
    holds: the next one applies it at once, not after the acknowledgement wait (here 60 s), with nothing
    behind it waiting as a gap until then."""
    pool = await db.create_pool(database_url, SCHEMA)
    await db.migrate(pool, SCHEMA, db.migration_files("shared") + [TABLE])
    nc = await natsio.connect(nats_url, "probe")
    js = nc.jetstream()
    await natsio.ensure_streams(js)
    probe = Consumer(INCIDENT_STREAM, "probe-restarted", ordered=True)
    await natsio.ensure_consumer(js, probe, ack_wait=60)
    entered, never = asyncio.Event(), asyncio.Event()

    async def stuck(conn, event):
        entered.set()
        await never.wait()

    try:
        for sequence in range(1, 6):
            await _publish_raw(js, _event("inc-7", sequence), f"inc-7-{sequence}")
        first = asyncio.create_task(consumer.run(js, pool, probe, stuck, max_deliver=3, batch=2, idle_wait=0.2))
        await asyncio.wait_for(entered.wait(), 10)
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        assert await _rows(pool, 1) is None  # the stuck batch was rolled back

        second = asyncio.create_task(consumer.run(js, pool, probe, _record, max_deliver=3, idle_wait=0.2))
        try:
            rows = await eventually(lambda: _rows(pool, 5), timeout=10)
        finally:
            second.cancel()
            await asyncio.gather(second, return_exceptions=True)
        assert [r["sequence"] for r in rows] == [1, 2, 3, 4, 5]
    finally:
        await nc.close()
        await pool.close()


async def test_f13_an_event_waiting_behind_a_gap_is_asked_for_less_and_less_often(harness):
    """After a crash the missing events come back only after the acknowledgement wait: the events behind them
    must not be fetched, applied and rolled back five times a second each until then."""
    pool, js = harness
    redelivered = consumer.REDELIVERIES.labels("probe")
    before = redelivered._value.get()
    await _publish_raw(js, _event("inc-8", 2), "inc-8-2")
    await asyncio.sleep(3.5)  # waits of 0.2, 0.4, 0.8, 1.6 s: three redeliveries by now (seventeen at a fixed 0.2 s)
    assert 2 <= redelivered._value.get() - before <= 4
    await _publish_raw(js, _event("inc-8", 1), "inc-8-1")
    rows = await eventually(lambda: _rows(pool, 2), timeout=15)
    assert [r["sequence"] for r in rows] == [1, 2]

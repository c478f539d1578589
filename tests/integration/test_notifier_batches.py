"""The notifier's form for a batch of events (``work.BatchWork``) on real PostgreSQL and NATS: what a batch
queues and projects is what its events applied one at a time queue and project, a redelivered event in a
batch adds nothing, a batch spanning two incidents keeps each one's order, and an event that cannot be
applied holds back none of the batch's others."""

import asyncio

import pytest

from services.notifier import handlers
from shared import consumer, db, natsio
from shared.clock import FakeClock
from shared.consumer_batch import Outcome, apply_batch
from shared.contract import Consumer, Envelope
from shared.contract.streams import INCIDENT
from tests.support.incident import eventually
from tests.support.notifier import Producer

CONSUMER = Consumer(INCIDENT, "notifier-incident", ordered=True)
# What a delivery is, beside when and in which trace it was queued.
DELIVERY = "id, event_id, incident_id, recipient, channel, reason, target, payload, state, not_before, priority, held"


def _update(worker: str, learned: str) -> dict:
    return {
        "worker": worker,
        "learned": learned,
        "tried": "restarting the pool",
        "outcome": "no change",
        "working_on": "reading the heap dump",
        "remaining": "the fix",
    }


async def _story(clock: FakeClock) -> tuple[list[Envelope], list[Envelope]]:
    """The organisation's events, then two incidents' (declared, workers, status updates, a new manager) and
    a person's change among them."""
    events: list[Envelope] = []

    async def record(envelope: Envelope) -> None:
        events.append(envelope)

    producer = Producer(record, clock)
    await producer.organisation(**{name: f"http://127.0.0.1:9/{name}" for name in ("alice", "bob", "carol", "dan")})
    organisation = len(events)
    await producer.declare("inc-1", "alice")
    await producer.declare("inc-2", "bob")
    # The reader, named in both declarations, gets a webhook before becoming their manager: what a batch
    # read of them before must not be what it uses after.
    await producer.person("reader", "http://127.0.0.1:9/reader")
    for incident, manager, worker in (("inc-1", "alice", "carol"), ("inc-2", "bob", "dan")):
        await producer.publish("warroom.incident.worker_added.v1", incident, {"person": worker, "by": manager})
        await producer.publish("warroom.incident.status_updated.v1", incident, _update(worker, f"{incident} leaks"))
        await producer.publish(
            "warroom.incident.manager_changed.v1",
            incident,
            {"previous": manager, "manager": "reader", "how": "forced", "by": "admin"},
        )
        await producer.publish("warroom.incident.status_updated.v1", incident, _update(worker, f"{incident} again"))
    return events[:organisation], events[organisation:]


@pytest.fixture
async def pools(database_url):
    """Two notifier schemas: one applies events one at a time, the other in batches."""
    opened = []
    for schema in ("notifier_one", "notifier_many"):
        pool = await db.create_pool(database_url, schema)
        await db.migrate(pool, schema, db.service_migrations("services.notifier"))
        opened.append(pool)
    yield opened
    for pool in opened:
        await pool.close()


async def _one_at_a_time(pool, events: list[Envelope], handle) -> None:
    async with pool.acquire() as conn:
        for event in events:
            assert await consumer.apply(conn, CONSUMER, event, handle) == Outcome.APPLIED


async def _batch(pool, events: list[Envelope], handle) -> list[str]:
    async with pool.acquire() as conn:
        return await apply_batch(conn, CONSUMER, events, handle)


async def _state(pool) -> dict[str, list]:
    return {
        "deliveries": [tuple(r) for r in await pool.fetch(f"SELECT {DELIVERY} FROM deliveries ORDER BY position")],
        "incidents": [tuple(r) for r in await pool.fetch("SELECT * FROM incidents ORDER BY id")],
        "status_updates": [tuple(r) for r in await pool.fetch("SELECT * FROM status_updates ORDER BY 1, 2")],
    }


async def test_f4_a_batch_queues_what_its_events_one_at_a_time_queue_and_a_redelivered_event_in_it_nothing(pools):
    one, many = pools
    clock = FakeClock()
    organisation, incidents = await _story(clock)
    handle = handlers.by_durable(handlers.Options(clock))["notifier-incident"]
    await _one_at_a_time(one, organisation + incidents, handle)

    assert set(await _batch(many, organisation, handle)) == {Outcome.APPLIED}
    assert set(await _batch(many, incidents[:6], handle)) == {Outcome.APPLIED}  # the person's change inside
    # Redelivered beside new events (its acknowledgement was lost): recognised, and nothing of it applied again.
    again = await _batch(many, incidents[4:], handle)
    assert again == [Outcome.DUPLICATE] * 2 + [Outcome.APPLIED] * (len(incidents) - 6)

    expected, batched = await _state(one), await _state(many)
    assert len(expected["deliveries"]) >= 8 and len(expected["status_updates"]) == 4
    assert ("reader", "http://127.0.0.1:9/reader") in {(d[3], d[6]) for d in expected["deliveries"]}
    assert batched == expected
    traces = await many.fetch("SELECT event_id, traceparent FROM deliveries")
    assert all(row["traceparent"] for row in traces)  # each carries its event's hop, as one at a time


async def test_f5_a_batch_spanning_two_incidents_out_of_order_applies_each_in_sequence_order(pools):
    one, many = pools
    clock = FakeClock()
    organisation, incidents = await _story(clock)
    handle = handlers.by_durable(handlers.Options(clock))["notifier-incident"]
    await _one_at_a_time(one, organisation + incidents, handle)

    await _batch(many, organisation, handle)
    # Each incident's events reversed, the two interleaved: the batch puts each incident's back in order.
    first = [e for e in incidents if e.subject == "inc-1"][::-1]
    second = [e for e in incidents if e.subject == "inc-2"][::-1]
    [person] = [e for e in incidents if e.subject == "reader"]
    shuffled = [person, *(event for pair in zip(first, second, strict=True) for event in pair)]
    assert set(await _batch(many, shuffled, handle)) == {Outcome.APPLIED}

    expected, batched = await _state(one), await _state(many)
    assert batched["incidents"] == expected["incidents"] and batched["status_updates"] == expected["status_updates"]
    for incident in ("inc-1", "inc-2"):  # each incident's notices queued in its events' order
        assert [d for d in batched["deliveries"] if d[2] == incident] == [
            d for d in expected["deliveries"] if d[2] == incident
        ]
    assert sorted(batched["deliveries"]) == sorted(expected["deliveries"])


async def test_f13_an_event_the_notifier_cannot_apply_inside_a_batch_is_parked_while_the_rest_apply(
    database_url, nats_url
):
    clock = FakeClock()
    organisation, incidents = await _story(clock)
    declared = [e for e in incidents if e.type == "warroom.incident.declared.v1"]
    # An incident whose declaration never came: its first event cannot be applied, however often retried.
    orphan = Producer(None, clock).envelope(
        "warroom.incident.worker_added.v1", "inc-orphan", {"person": "carol", "by": "alice"}
    )
    pool = await db.create_pool(database_url, "notifier")
    nc = await natsio.connect(nats_url, "notifier-batches")
    try:
        await db.migrate(pool, "notifier", db.service_migrations("services.notifier"))
        js = nc.jetstream()
        await natsio.ensure_streams(js)
        await natsio.ensure_consumer(js, CONSUMER, ack_wait=1)
        for event in [*organisation, declared[0], orphan, declared[1]]:
            await js.publish(event.type, event.to_bytes(), headers={"Nats-Msg-Id": event.id})
        handle = handlers.by_durable(handlers.Options(clock))["notifier-incident"]
        task = asyncio.create_task(consumer.run(js, pool, CONSUMER, handle, max_deliver=2, idle_wait=0.2))
        try:
            parked = await eventually(lambda: pool.fetch("SELECT event_id FROM parked_events"), timeout=20)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert [row["event_id"] for row in parked] == [orphan.id]
        paged = await pool.fetch("SELECT incident_id FROM deliveries WHERE reason = 'paged' ORDER BY position")
        assert [row["incident_id"] for row in paged] == ["inc-1", "inc-2"]
        assert not await pool.fetchval("SELECT count(*) FROM deliveries WHERE event_id = $1", orphan.id)
        processed = await pool.fetchval("SELECT count(*) FROM processed_events")
        assert processed == len(organisation) + 2  # every event but the orphan's
        assert [r["id"] for r in await pool.fetch("SELECT id FROM incidents ORDER BY id")] == ["inc-1", "inc-2"]
    finally:
        await nc.close()
        await pool.close()

"""The incident service's lists (incidents, people) applied from a batch of its own stream's events
(``readmodel.apply_many``) on real PostgreSQL: the same rows as its events applied one at a time, a
redelivered event in a batch changing nothing, and the whole batch costing the list two statements."""

import pytest

from services.incident import handlers, readmodel
from shared import consumer, db
from shared.clock import FakeClock
from shared.consumer_batch import Outcome, apply_batch
from shared.contract import Consumer, Envelope
from shared.contract.streams import INCIDENT
from tests.support.notifier import Producer

CONSUMER = Consumer(INCIDENT, "incident-list", ordered=True)
STATES = {
    "resolved": {"resolution": "rolled back", "test_plan": "checkout works"},
    "reopened": {"reason": "it failed again"},
    "closed": {},
}


async def _story() -> list[Envelope]:
    """Three incidents declared; their severities, managers and states changed, some many times over, with
    people registered and edited among them."""
    events: list[Envelope] = []

    async def record(envelope: Envelope) -> None:
        events.append(envelope)

    producer = Producer(record, FakeClock())
    await producer.person("alice", name="Alice")
    for incident, manager in (("inc-1", "alice"), ("inc-2", "bob"), ("inc-3", "carol")):
        await producer.declare(incident, manager)
    for previous, level in ((1, 2), (2, 3), (3, 1), (1, 2)):  # the last change is the one that stands
        change = {"previous": previous, "severity": level, "reason": "bench", "by": "alice"}
        await producer.publish("warroom.incident.severity_changed.v1", "inc-1", change)
    await producer.publish(
        "warroom.incident.manager_changed.v1",
        "inc-2",
        {"previous": "bob", "manager": "dan", "how": "forced", "by": "admin"},
    )
    await producer.person("alice", name="Alice Smith")
    for state in ("resolved", "reopened", "resolved", "closed"):
        await producer.publish(f"warroom.incident.{state}.v1", "inc-3", STATES[state] | {"by": "carol"})
    await producer.publish("warroom.incident.resolved.v1", "inc-2", STATES["resolved"] | {"by": "dan"})
    return events


@pytest.fixture
async def pools(database_url):
    """Two incident-service schemas' lists: one applies events one at a time, the other in batches."""
    opened = []
    for schema in ("incident_list_one", "incident_list_many"):
        pool = await db.create_pool(database_url, schema)
        await db.migrate(pool, schema, db.service_migrations("services.incident"))
        opened.append(pool)
    yield opened
    for pool in opened:
        await pool.close()


async def _lists(pool) -> dict[str, list[tuple]]:
    return {
        "incidents": [tuple(r) for r in await pool.fetch("SELECT * FROM incident_list ORDER BY id")],
        "people": [tuple(r) for r in await pool.fetch("SELECT * FROM people_list ORDER BY id")],
    }


class Counting:
    """A connection's statements, counted (the list's own, beside the consumer's bookkeeping)."""

    def __init__(self, conn):
        self.conn, self.statements = conn, []

    def __getattr__(self, name):
        return getattr(self.conn, name)

    async def execute(self, query, *args):
        self.statements.append(query)
        return await self.conn.execute(query, *args)


async def test_f4_a_batch_of_the_incident_stream_lists_what_its_events_one_at_a_time_list(pools):
    one, many = pools
    events = await _story()
    handle = handlers.lists()
    async with one.acquire() as conn:
        for event in events:
            assert await consumer.apply(conn, CONSUMER, event, handle) == Outcome.APPLIED
    async with many.acquire() as conn:
        assert set(await apply_batch(conn, CONSUMER, events[:7], handle)) == {Outcome.APPLIED}
        # Redelivered beside new events (its acknowledgement was lost): recognised, and nothing of it applied again.
        again = await apply_batch(conn, CONSUMER, events[5:], handle)
    assert again == [Outcome.DUPLICATE] * 2 + [Outcome.APPLIED] * (len(events) - 7)

    expected = await _lists(one)
    assert await _lists(many) == expected
    incidents = {row[0]: row for row in expected["incidents"]}
    assert incidents["inc-1"][5] == 2 and incidents["inc-2"][6] == "dan"  # severity, manager
    assert [incidents[i][4] for i in ("inc-1", "inc-2", "inc-3")] == ["open", "resolved", "closed"]
    assert [row[2] for row in expected["people"]] == ["Alice Smith"]


async def test_p1_a_long_run_of_one_incidents_changes_costs_the_incident_list_one_statement(pools):
    _, many = pools
    events = await _story()
    async with many.acquire() as conn:
        counting = Counting(conn)
        changes = [e for e in events if e.type != "warroom.person.updated.v1"]
        await readmodel.apply_many(counting, changes)
    # the three declarations in one INSERT, the eleven changes of three incidents in one UPDATE
    assert [statement.split()[0] for statement in counting.statements] == ["INSERT", "UPDATE"]
    rows = await many.fetch("SELECT id, severity, status FROM incident_list ORDER BY id")
    assert [tuple(r) for r in rows] == [("inc-1", 2, "open"), ("inc-2", 1, "resolved"), ("inc-3", 1, "closed")]

"""The timers service's form for a batch of events (``handlers.handle_many`` through ``batch_store.BatchStore``) on
real PostgreSQL: what batches derive — incidents, workers, stretches, every timer and what fired — is what
the same events applied one at a time derive, a batch with redelivered events in it applies nothing twice,
and a batch spanning two incidents out of order applies each in sequence order."""

from datetime import UTC, datetime, timedelta

import pytest

from services.timers import handlers
from services.timers.batch_store import BatchStore
from shared import db
from shared.clock import FakeClock
from shared.consumer_batch import Outcome, apply_batch
from shared.contract import Consumer, Envelope
from shared.contract.streams import INCIDENT
from shared.process.timing import Stretch
from tests.support.timers import THREE_LEVELS, TimersHarness

CONSUMER = Consumer(INCIDENT, "timers-incident", ordered=True)
TABLES = {
    "incidents": "SELECT * FROM incidents ORDER BY id",
    "workers": "SELECT * FROM workers ORDER BY incident_id, person",
    "steps_done": "SELECT * FROM steps_done ORDER BY incident_id, level, step",
    "stretches": "SELECT * FROM stretches ORDER BY person, role, incident_id, started_at",
    "timers": "SELECT * FROM timers ORDER BY id",
    "applied_until": "SELECT * FROM applied_until",
}


class BatchHarness(TimersHarness):
    """Applies each call's events as one fetched batch, through the consumer's batch transaction; what each
    event came out as is in ``outcomes``."""

    def __init__(self, pool, clock, document: dict):
        super().__init__(pool, clock, document)
        self.handle = handlers.consumer_handler(clock)
        self.outcomes: list[str] = []

    async def apply(self, *events: Envelope) -> None:
        async with self.pool.acquire() as conn:
            self.outcomes += await apply_batch(conn, CONSUMER, list(events), self.handle)
        self.applied.extend(events)


@pytest.fixture
async def pools(database_url):
    opened = []
    for schema in ("timers_one", "timers_many"):
        pool = await db.create_pool(database_url, schema)
        await db.migrate(pool, schema, db.service_migrations("services.timers"))
        opened.append(pool)
    yield opened
    for pool in opened:
        await pool.close()


async def _story(t: TimersHarness, reorder=lambda events: events) -> None:
    """Two incidents through pages, steps, cadences, tenure and freshness falling due, a handover, a level
    change, resolution, closure and a reopening; ``reorder`` gives each call's events in another order."""
    h, m, e = timedelta(hours=1), timedelta(minutes=1), t.events
    await t.apply(
        *reorder(
            [
                e.declare("inc-1", manager="sam"),
                e.declare("inc-2", manager="alice", severity=3),
                e.add_worker("inc-1", "wes"),
                e.add_worker("inc-1", "val"),
                e.add_worker("inc-2", "wes"),
            ]
        )
    )
    for step in (6 * m, 20 * m, 50 * m, 3 * h, 9 * h):
        t.clock.advance(step)
        await t.tick()
        await t.apply(
            *reorder(
                [e.request_status("inc-1", ["wes"]), e.update_status("inc-1", "val"), e.post_public_update("inc-1")]
            )
        )
    t.clock.advance(30 * m)
    await t.apply(
        *reorder(
            [
                e.hand_over("inc-1", "sam", "tom", how="escalated"),
                e.acknowledge("inc-1", "tom"),
                e.change_severity("inc-1", 1, 2),
                e.complete_step("inc-1", "observers", level=2),
                e.hand_over("inc-2", "alice", "wes", removed_from_workers=True),
                e.remove_worker("inc-1", "val"),
                e.resolve("inc-2"),
                e.close("inc-2"),
            ]
        )
    )
    t.clock.advance(2 * h)  # inc-1's timers due meanwhile fire as its next event is applied
    await t.apply(*reorder([e.resolve("inc-1"), e.reopen("inc-1"), e.add_worker("inc-1", "zoe")]))
    t.clock.advance(2 * h)
    await t.tick()


async def _tables(pool) -> dict[str, list[dict]]:
    tables = {table: [dict(row) for row in await pool.fetch(query)] for table, query in TABLES.items()}
    # What fired, in order; the trace each fired event carries is the only thing that may differ.
    events = [row["event"] for row in await pool.fetch("SELECT event FROM outbox ORDER BY position")]
    tables["outbox"] = [{k: v for k, v in event.items() if k != "traceparent"} for event in events]
    return tables


async def test_f4_batches_derive_what_one_event_at_a_time_derives_and_redelivered_events_apply_nothing(pools):
    one, many = pools
    single = await TimersHarness(one, FakeClock(), THREE_LEVELS).organise()
    await _story(single)
    batched = await BatchHarness(many, FakeClock(), THREE_LEVELS).organise()
    await _story(batched)
    expected = await _tables(one)
    assert {row["state"] for row in expected["timers"]} == {"pending", "fired", "cancelled"}
    assert len(expected["outbox"]) > 5 and expected["applied_until"]
    assert await _tables(many) == expected

    # The last two batches delivered again beside nothing new: recognised, and nothing changes.
    batched.outcomes.clear()
    await batched.apply(*single.applied[-3:])
    assert batched.outcomes == [Outcome.DUPLICATE] * 3
    assert await _tables(many) == expected


async def test_f5_a_batch_spanning_two_incidents_out_of_order_applies_each_in_sequence_order(pools):
    one, many = pools
    single = await TimersHarness(one, FakeClock(), THREE_LEVELS).organise()
    await _story(single)
    batched = await BatchHarness(many, FakeClock(), THREE_LEVELS).organise()
    await _story(batched, reorder=lambda events: events[::-1])  # every batch reversed: each incident's too
    assert set(batched.outcomes) == {Outcome.APPLIED}
    expected, derived = await _tables(one), await _tables(many)
    # What fired in each incident fired in the same order; between incidents in the batch's order, so the
    # outbox positions differ.
    expected_fired, fired = _by_incident(expected.pop("outbox")), _by_incident(derived.pop("outbox"))
    assert len(expected_fired) == 2 and fired == expected_fired
    assert derived == expected


def _by_incident(events: list[dict]) -> dict[str, list[dict]]:
    fired: dict[str, list[dict]] = {}
    for event in events:
        fired.setdefault(event["data"]["incident_id"], []).append({k: v for k, v in event.items() if k != "position"})
    return fired


async def test_r05_a_look_at_stretches_the_batch_did_not_read_ahead_sees_the_batchs_own_changes(pools):
    """Someone's stretches not read with the batch are read from the table once the batch's changes so far
    are written there; a stretch on an incident outside the batch is ended in the table at once, and the
    next look reads it again."""
    pool, t0, h = pools[0], datetime(2026, 1, 5, 9, tzinfo=UTC), timedelta(hours=1)
    await pool.execute(
        "INSERT INTO stretches (person, role, incident_id, started_at) VALUES ('sam', 'manager', 'inc-9', $1)", t0
    )
    async with pool.acquire() as conn, conn.transaction():
        store = BatchStore(conn)
        await store.prefetch(["inc-1"])  # nobody's stretches read ahead
        await store.add_incident("inc-1", 1, 2, "sam", t0 + h)
        await store.start_stretch("sam", "manager", "inc-1", t0 + h)
        assert await store.stretches("sam", "manager", t0 - h) == [Stretch(t0), Stretch(t0 + h)]
        await store.end_stretch("sam", "manager", "inc-9", t0 + 2 * h)  # not the batch's incident
        await store.end_stretch("sam", "manager", "inc-1", t0 + 3 * h)
        assert await store.stretches("sam", "manager", t0 - h) == [Stretch(t0, t0 + 2 * h), Stretch(t0 + h, t0 + 3 * h)]
        assert await store.stretches("sam", "manager", t0 + 2 * h) == [Stretch(t0 + h, t0 + 3 * h)]
        await store.flush()
    rows = await pool.fetch("SELECT incident_id, started_at, ended_at FROM stretches ORDER BY started_at")
    assert [tuple(row) for row in rows] == [("inc-9", t0, t0 + 2 * h), ("inc-1", t0 + h, t0 + 3 * h)]
    assert await pool.fetchval("SELECT manager FROM incidents WHERE id = 'inc-1'") == "sam"

"""F6 for the timers: a rebuild from the incident stream's start re-derives the timers that live
processing planned, in the same states, and publishes nothing a second time."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from services.timers import handlers
from services.timers.memory import MemoryStore
from services.timers.rebuild import rebuild
from shared import db
from shared.clock import FakeClock
from shared.contract.events import TIMER_KINDS
from tests.support.incident import eventually
from tests.support.timers import (
    THREE_LEVELS,
    TimersHarness,
    level,
    listed,
    now,
    process,
    signed_in,
    streams,
    timers_pool,
    timers_service,
)

# Second-scale deadlines: within four seconds a page, a step, a status update and the handover
# warning fall due while the rest (shift limit, freshness, the other step) stay a minute away.
DOCUMENT = process(
    [
        level(
            1,
            acknowledge_within="PT1S",
            status_update_every="PT2S",
            checklist=[
                {"id": "announce", "title": "Announce", "due_within": "PT1S"},
                {"id": "call", "title": "Start the call", "due_within": "PT1M"},
            ],
        )
    ],
    handover_warning_after="PT3S",
    manager_shift_limit="PT1M",
    worker_fresh_for="PT1M",
)


def without_fired_at(timers: list[dict]) -> list[dict]:
    return [{key: value for key, value in timer.items() if key != "fired_at"} for timer in timers]


async def settled(client, incident: str) -> list[dict] | None:
    timers = await listed(client, incident)
    return None if any(t["state"] == "pending" for t in timers) else timers


async def open_timers(client) -> list[dict] | None:
    """inc-2's timers once all six are planned: the page, the manager's handover warning and shift
    limit, the worker's status update and freshness warning, the observers' summary."""
    timers = await listed(client, "inc-2")
    return timers if len(timers) == 6 else None


async def caught_up(js) -> bool:
    """Whether the timers service has committed and acknowledged every incident event published."""
    stream = await js.stream_info("WARROOM_INCIDENT")
    consumer = await js.consumer_info("WARROOM_INCIDENT", "timers-incident")
    return consumer.ack_floor.stream_seq == stream.state.last_seq


async def sql(database_url: str, query: str):
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


async def test_f6_a_rebuild_from_the_stream_rederives_the_same_timers_and_sends_nothing_again(database_url, nats_url):
    async with streams(nats_url) as (publish, messages, js):
        events = publish.events
        async with timers_service(database_url, nats_url) as client:
            await publish(*events.organisation(DOCUMENT))
            await eventually(lambda: signed_in(client))
            await publish(events.declare("inc-1"), events.add_worker("inc-1", "wes"))
            await eventually(lambda: messages.of("ack_due") and messages.of("checklist_step_due"))
            await eventually(lambda: messages.of("status_update_due"))
            await publish(events.update_status("inc-1", "wes"), events.complete_step("inc-1", "call"))
            await eventually(lambda: messages.of("handover_warning"))
            await publish(events.resolve("inc-1"))
            # Another incident, under a later process version, stays open: its deadlines are hours ahead.
            await publish(
                events.make(
                    "warroom.process.published.v1",
                    "process",
                    {"version": 2, "document": process([level(1)]), "by": "alice"},
                ),
                events.declare("inc-2", manager="bob", version=2),
                events.add_worker("inc-2", "val"),
            )
            live = await eventually(lambda: settled(client, "inc-1"))
            live_open = await eventually(lambda: open_timers(client))

        await sql(database_url, "DROP SCHEMA timers CASCADE")
        await js.delete_consumer("WARROOM_INCIDENT", "timers-incident")
        async with timers_service(database_url, nats_url) as client:
            await eventually(lambda: signed_in(client))
            rebuilt = await eventually(lambda: settled(client, "inc-1"))
            rebuilt_open = await eventually(lambda: open_timers(client))
            await eventually(
                lambda: sql(
                    database_url, "SELECT count(*) > 0 AND bool_and(published_at IS NOT NULL) FROM timers.outbox"
                )
            )
        info = await js.stream_info("WARROOM_TIMERS")

    fired = Counter(t["kind"] for t in live if t["state"] == "fired")
    assert fired == {
        "ack_due": 1,
        "checklist_step_due": 1,
        "status_update_due": 1,
        "handover_warning": 1,
        "observer_summary_due": 1,
    }
    assert Counter(t["kind"] for t in live if t["state"] == "cancelled") == {
        "status_update_due": 2,
        "checklist_step_due": 1,
        "shift_limit": 1,
        "worker_fresh": 1,
        "observer_summary_due": 1,
    }
    assert without_fired_at(rebuilt) == without_fired_at(live)
    assert rebuilt_open == live_open and {t["state"] for t in live_open} == {"pending"}
    assert info.state.messages == len(messages.received) == sum(fired.values())


# --- the rebuild tool: python -m services.timers.rebuild ---


async def test_f6_replaying_every_kind_of_event_in_memory_derives_exactly_what_live_processing_built(database_url):
    h, m = timedelta(hours=1), timedelta(minutes=1)
    async with timers_pool(database_url) as pool:
        t = await TimersHarness(pool, FakeClock(), THREE_LEVELS).organise()
        e = t.events
        await t.apply(
            e.declare("inc-1", manager="sam"),
            e.declare("inc-2", manager="alice", severity=3),
            e.add_worker("inc-1", "wes"),
            e.add_worker("inc-1", "val"),
            e.add_worker("inc-2", "wes"),
        )
        for step in (6 * m, 20 * m, 50 * m, 3 * h, 9 * h):  # pages, steps, cadences, tenure and freshness fall due
            t.clock.advance(step)
            await t.tick()
            await t.apply(
                e.request_status("inc-1", ["wes"]), e.update_status("inc-1", "val"), e.post_public_update("inc-1")
            )
        await t.apply(
            e.hand_over("inc-1", "sam", "tom", how="escalated"),
            e.acknowledge("inc-1", "tom"),
            e.change_severity("inc-1", 1, 2),
            e.complete_step("inc-1", "observers", level=2),
            e.hand_over("inc-2", "alice", "wes", removed_from_workers=True),
            e.remove_worker("inc-1", "val"),
            e.resolve("inc-2"),
            e.close("inc-2"),
            e.resolve("inc-1"),
        )
        t.clock.advance(30 * m)
        await t.apply(e.reopen("inc-1"), e.add_worker("inc-1", "zoe"))
        t.clock.advance(2 * h)
        await t.tick()
        live = await tables(pool)

        async with pool.acquire() as conn, conn.transaction():
            store, versions = await MemoryStore.load(conn, t.clock), handlers.RulesByVersion()
            for event in t.applied:
                await handlers.apply(store, event, clock=t.clock, versions=versions)
            await store.fire_known()
            await conn.execute("TRUNCATE incidents, workers, steps_done, stretches, timers")
            await store.write()
        replayed = await tables(pool)

    assert {row["kind"] for row in live["timers"]} == set(TIMER_KINDS)
    assert {row["state"] for row in live["timers"]} == {"pending", "fired", "cancelled"}
    assert replayed == live


async def test_r11_a_replay_counts_each_page_from_the_paged_persons_hours_as_they_were_when_paged(database_url):
    m = timedelta(minutes=1)
    los_angeles, tokyo = ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Tokyo")
    night_in_la = datetime(2026, 1, 7, 3, 0, tzinfo=los_angeles)
    document = process([level(1), level(2, immediacy="waking_hours", acknowledge_within="PT15M")])
    async with timers_pool(database_url) as pool:
        t = await TimersHarness(pool, FakeClock(night_in_la.astimezone(UTC)), document).organise()
        e = t.events
        await t.apply(
            e.register("sam", "America/Los_Angeles"),
            e.register("tom", "Asia/Tokyo"),
            e.declare("inc-1", manager="sam", severity=2),
            e.register("sam", "America/Los_Angeles", waking_hours={"start": "02:00", "end": "23:00"}),
            e.declare("inc-2", manager="sam", severity=2),
        )
        t.clock.advance(datetime(2026, 1, 8, 2, 0, tzinfo=tokyo) - t.clock.now())  # 02:00 in Tokyo
        await t.tick()
        await t.apply(
            e.hand_over("inc-1", "sam", "tom", how="escalated"),
            e.register("tom", "Asia/Tokyo", waking_hours={"start": "00:00", "end": "24:00"}),
        )
        live = await tables(pool)

        async with pool.acquire() as conn, conn.transaction():
            store, versions = await MemoryStore.load(conn, t.clock), handlers.RulesByVersion()
            for event in t.applied:
                await handlers.apply(store, event, clock=t.clock, versions=versions)
            await store.fire_known()
            await conn.execute("TRUNCATE incidents, workers, steps_done, stretches, timers")
            await store.write()
        replayed = await tables(pool)

    pages = sorted(
        (row["incident_id"], row["person"], row["due_at"]) for row in live["timers"] if row["kind"] == "ack_due"
    )
    # Each page waits for its person's waking hours as they stood when paged, not as they were changed after.
    assert pages == [
        ("inc-1", "sam", datetime(2026, 1, 7, 7, 15, tzinfo=los_angeles)),
        ("inc-1", "tom", datetime(2026, 1, 8, 7, 15, tzinfo=tokyo)),
        ("inc-2", "sam", night_in_la + 15 * m),
    ]  # Sam is awake from 02:00 by then
    assert replayed == live


async def tables(pool) -> dict[str, list[dict]]:
    return {
        table: [dict(row) for row in await pool.fetch(query.replace("timers.", ""))]
        for table, query in SNAPSHOT.items()
    }


SNAPSHOT = {
    "incidents": "SELECT * FROM timers.incidents ORDER BY id",
    "workers": "SELECT * FROM timers.workers ORDER BY incident_id, person",
    "steps_done": "SELECT * FROM timers.steps_done ORDER BY incident_id, level, step",
    "stretches": "SELECT * FROM timers.stretches ORDER BY person, role, incident_id, started_at",
    "timers": "SELECT * FROM timers.timers ORDER BY id",
    "outbox": "SELECT position, event FROM timers.outbox ORDER BY position",
}


async def snapshot(database_url: str) -> dict[str, list[dict]]:
    conn = await asyncpg.connect(database_url)
    try:
        return {table: [dict(row) for row in await conn.fetch(query)] for table, query in SNAPSHOT.items()}
    finally:
        await conn.close()


async def rebuild_now(database_url: str, js, clock=None) -> int:
    pool = await db.create_pool(database_url, "timers")
    try:
        return await rebuild(pool, js, clock=clock)
    finally:
        await pool.close()


async def test_f6_the_rebuild_tool_restores_exactly_what_live_processing_built_and_sends_nothing_again(
    database_url, nats_url
):
    async with streams(nats_url) as (publish, messages, js):
        events = publish.events
        async with timers_service(database_url, nats_url) as client:
            await publish(*events.organisation(DOCUMENT))
            await eventually(lambda: signed_in(client))
            await publish(events.declare("inc-1"), events.add_worker("inc-1", "wes"))
            await eventually(lambda: messages.of("status_update_due"))
            await publish(
                events.update_status("inc-1", "wes"),
                events.complete_step("inc-1", "call"),
                events.change_severity("inc-1", 1, 2),
            )
            await eventually(lambda: messages.of("handover_warning"))
            await publish(
                events.resolve("inc-1"), events.declare("inc-2", manager="bob"), events.add_worker("inc-2", "val")
            )
            await eventually(lambda: settled(client, "inc-1"))
            await eventually(lambda: caught_up(js))  # inc-2's events applied too, not only inc-1's
            live = await snapshot(database_url)
            applied = await rebuild_now(database_url, js)  # beside the running service
            rebuilt = await snapshot(database_url)
        sent = len(messages.received)

    assert applied == sum(events.sequences.values())
    assert rebuilt == live
    assert sent == len(live["outbox"])


async def test_f6_a_rebuild_leaves_a_timer_due_meanwhile_to_the_scheduler_which_fires_it_once(database_url, nats_url):
    clock = FakeClock(now())
    async with streams(nats_url, clock) as (publish, messages, js):
        events = publish.events
        async with timers_service(database_url, nats_url, clock) as client:
            await publish(*events.organisation(DOCUMENT))
            await eventually(lambda: signed_in(client))
            await publish(events.declare("inc-1"))
            await eventually(lambda: listed(client, "inc-1"))
        clock.advance(timedelta(seconds=1))  # the page and a step fall due while the service is down

        await rebuild_now(database_url, js, clock)
        rebuilt = await snapshot(database_url)
        async with timers_service(database_url, nats_url, clock) as client:
            await eventually(lambda: len(messages.received) == 2)
            fired = await snapshot(database_url)
        await rebuild_now(database_url, js, clock)
        again = await snapshot(database_url)

    assert {row["state"] for row in rebuilt["timers"]} == {"pending"} and rebuilt["outbox"] == []
    assert sorted(r["kind"] for r in fired["timers"] if r["state"] == "fired") == ["ack_due", "checklist_step_due"]
    assert again == fired
    assert sorted(e.data["kind"] for _, e in messages.received) == ["ack_due", "checklist_step_due"]

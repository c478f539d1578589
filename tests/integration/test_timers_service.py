"""The timers service in-process: incident events in over NATS, timers out on WARROOM_TIMERS.

A test process runs R05 in seconds: a handover warning after 2 s, the shift limit after 4 s.
Events dated in the past make timers fall due at once where waiting proves nothing.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from shared.clock import FakeClock
from tests.support.incident import eventually
from tests.support.timers import (
    level,
    listed,
    now,
    process,
    signed_in,
    streams,
    timers_service,
)

DOCUMENT = process(
    [level(1, acknowledge_within="PT5M", status_update_every="PT1H")],
    handover_warning_after="PT2S",
    manager_shift_limit="PT4S",
)
TENURE = ("handover_warning", "shift_limit")


async def organised(publish, client, document: dict = DOCUMENT) -> None:
    """Publish the people, token and process, and wait until the service authenticates the token."""
    await publish(*publish.events.organisation(document))
    await eventually(lambda: signed_in(client))


async def tenure_timers(client, incident: str, count: int | None = None) -> list[dict] | None:
    timers = [t for t in await listed(client, incident) if t["kind"] in TENURE]
    return timers if count is None or len(timers) == count else None


async def of_kind(client, incident: str, kind: str) -> list[dict]:
    return [t for t in await listed(client, incident) if t["kind"] == kind]


async def settled(client, incident: str) -> list[dict] | None:
    """The incident's timers once none is pending any more."""
    timers = await listed(client, incident)
    return None if any(t["state"] == "pending" for t in timers) else timers


def states(timers: list[dict]) -> set[tuple[str, str, str]]:
    return {(t["kind"], t["person"], t["state"]) for t in timers}


async def sql(database_url: str, query: str):
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


def outbox_count(database_url: str):
    return sql(database_url, "SELECT count(*) FROM timers.outbox")


async def test_r05_declaring_schedules_the_managers_handover_warning_and_shift_limit(database_url, nats_url):
    async with streams(nats_url) as (publish, _, _), timers_service(database_url, nats_url) as client:
        await organised(publish, client)
        declared = await publish(publish.events.declare("inc-1"))

        timers = await eventually(lambda: tenure_timers(client, "inc-1", 2))

    assert list(timers[0]) == ["id", "kind", "incident_id", "person", "due_at", "state", "fired_at"]
    assert [(t["kind"], t["person"], t["state"], t["fired_at"]) for t in timers] == [
        ("handover_warning", "alice", "pending", None),
        ("shift_limit", "alice", "pending", None),
    ]
    assert [datetime.fromisoformat(t["due_at"]) for t in timers] == [
        declared.time + timedelta(seconds=2),
        declared.time + timedelta(seconds=4),
    ]


async def test_r05_handover_warning_fires_once_after_its_offset_never_before(database_url, nats_url):
    async with streams(nats_url) as (publish, messages, _), timers_service(database_url, nats_url) as client:
        await organised(publish, client)
        declared = await publish(publish.events.declare("inc-1"))
        await eventually(lambda: messages.of("handover_warning", "inc-1"))
        # The shift limit falls due two seconds later: once it is in, the warning had every chance to repeat.
        await eventually(lambda: messages.of("shift_limit", "inc-1"))
        timers = await tenure_timers(client, "inc-1")

    [(arrived, warning)] = messages.of("handover_warning", "inc-1")
    due_at = declared.time + timedelta(seconds=2)
    assert arrived >= due_at
    assert warning.subject == "inc-1" and warning.source == "warroom/timers"
    fired = warning.data
    assert (fired["kind"], fired["incident_id"], fired["person"]) == ("handover_warning", "inc-1", "alice")
    assert datetime.fromisoformat(fired["due_at"]) == due_at <= datetime.fromisoformat(fired["fired_at"])
    assert fired["detail"] == {"tenure_started_at": declared.time.isoformat()}
    assert states(timers) == {("handover_warning", "alice", "fired"), ("shift_limit", "alice", "fired")}
    assert timers[0]["id"] == fired["timer_id"] and timers[0]["fired_at"] is not None
    assert await outbox_count(database_url) == 2


async def test_r11_an_unacknowledged_page_fires_ack_due_on_the_timers_stream(database_url, nats_url):
    document = process([level(1, acknowledge_within="PT1S")])
    async with streams(nats_url) as (publish, messages, _), timers_service(database_url, nats_url) as client:
        await organised(publish, client, document)
        declared = await publish(publish.events.declare("inc-1", manager="bob"))
        [(arrived, page)] = await eventually(lambda: messages.of("ack_due", "inc-1"))

    assert arrived >= declared.time + timedelta(seconds=1)
    assert (page.type, page.subject, page.source) == ("warroom.timer.ack_due.v1", "inc-1", "warroom/timers")
    assert (page.data["person"], page.data["detail"]) == ("bob", {"level": 1})


async def test_r11_a_page_held_until_waking_hours_is_due_fifteen_minutes_after_they_begin(database_url, nats_url):
    # Level 2 pages within the SME's waking hours; Sam (in Los Angeles) gave none, so 07:00-22:00.
    document = process([level(1), level(2, immediacy="waking_hours", acknowledge_within="PT15M")])
    los_angeles = ZoneInfo("America/Los_Angeles")
    night = datetime.combine(now().astimezone(los_angeles).date() + timedelta(days=1), time(3, 0), los_angeles)
    async with streams(nats_url) as (publish, _, _), timers_service(database_url, nats_url) as client:
        await organised(publish, client, document)
        await publish(publish.events.register("sam", "America/Los_Angeles"))
        await publish(publish.events.declare("inc-1", manager="sam", severity=2, time=night))

        [page] = await eventually(lambda: of_kind(client, "inc-1", "ack_due"))

    due = datetime.fromisoformat(page["due_at"])
    assert (page["person"], page["state"]) == ("sam", "pending")
    assert due.astimezone(los_angeles).time() == time(7, 15)
    assert due == datetime.combine(night.date(), time(7, 15), los_angeles) != night + timedelta(minutes=15)


async def test_r05_a_manager_change_cancels_the_old_managers_timers_and_schedules_the_new_ones(database_url, nats_url):
    async with streams(nats_url) as (publish, _, _), timers_service(database_url, nats_url) as client:
        await organised(publish, client)
        await publish(publish.events.declare("inc-1", manager="alice"))
        await eventually(lambda: tenure_timers(client, "inc-1", 2))
        changed = await publish(publish.events.hand_over("inc-1", previous="alice", manager="bob"))

        timers = await eventually(lambda: tenure_timers(client, "inc-1", 4))

    assert states(timers) == {
        ("handover_warning", "alice", "cancelled"),
        ("shift_limit", "alice", "cancelled"),
        ("handover_warning", "bob", "pending"),
        ("shift_limit", "bob", "pending"),
    }
    bobs = {t["kind"]: datetime.fromisoformat(t["due_at"]) for t in timers if t["person"] == "bob"}
    assert bobs == {
        "handover_warning": changed.time + timedelta(seconds=2),
        "shift_limit": changed.time + timedelta(seconds=4),
    }


async def test_f4_a_duplicated_declaration_schedules_and_fires_nothing_twice(database_url, nats_url):
    async with streams(nats_url) as (publish, messages, js), timers_service(database_url, nats_url) as client:
        await organised(publish, client)
        # Dated so the warning falls due at once and the shift limit a little later.
        declared = await publish(publish.events.declare("inc-1", time=now() - timedelta(seconds=3)))
        # The same event again under another message id: JetStream cannot drop it, the service must.
        await js.publish(
            declared.type,
            declared.to_bytes(),
            stream="WARROOM_INCIDENT",
            headers={"Nats-Msg-Id": "redelivered-" + declared.id},
        )
        await eventually(lambda: messages.of("shift_limit", "inc-1"))
        timers = await listed(client, "inc-1")

    assert states(timers) == {
        ("handover_warning", "alice", "fired"),
        ("shift_limit", "alice", "fired"),
        ("ack_due", "alice", "pending"),
        ("observer_summary_due", None, "pending"),
    }
    assert len(messages.of("handover_warning", "inc-1")) == 1
    assert await outbox_count(database_url) == 2


async def test_r15_resolving_cancels_every_pending_timer_of_the_incident(database_url, nats_url):
    async with streams(nats_url) as (publish, _, _), timers_service(database_url, nats_url) as client:
        await organised(publish, client)
        events = publish.events
        await publish(
            events.declare("inc-1"),
            events.declare("inc-2"),
            events.add_worker("inc-1", "wes"),
            events.hand_over("inc-1", previous="alice", manager="bob"),
        )
        await eventually(lambda: tenure_timers(client, "inc-1", 4))
        await publish(events.resolve("inc-1"))

        timers = await eventually(lambda: settled(client, "inc-1"))
        other = await listed(client, "inc-2")

    assert {t["state"] for t in timers} == {"cancelled"}
    assert {t["kind"] for t in timers} >= {"ack_due", "status_update_due", "worker_fresh", "shift_limit"}
    assert {t["state"] for t in other} == {"pending"}


async def test_r05_a_timer_that_fell_due_while_the_service_was_down_fires_once_on_restart(database_url, nats_url):
    clock = FakeClock(now())
    async with streams(nats_url, clock) as (publish, messages, _):
        async with timers_service(database_url, nats_url, clock) as client:
            await organised(publish, client)
            await publish(publish.events.declare("inc-1"))
            await eventually(lambda: tenure_timers(client, "inc-1", 2))
        clock.advance(timedelta(seconds=3))  # the warning falls due while nobody runs

        async with timers_service(database_url, nats_url, clock) as client:
            await eventually(lambda: messages.of("handover_warning", "inc-1"))
            timers = await tenure_timers(client, "inc-1")

    assert [(t["kind"], t["state"]) for t in timers] == [("handover_warning", "fired"), ("shift_limit", "pending")]
    assert datetime.fromisoformat(timers[0]["fired_at"]) == clock.now()
    assert len(messages.of("handover_warning", "inc-1")) == 1
    assert await outbox_count(database_url) == 1


async def test_listing_timers_requires_a_token_and_an_incident_id(database_url, nats_url):
    async with streams(nats_url) as (publish, _, _), timers_service(database_url, nats_url) as client:
        await organised(publish, client)
        anonymous = await client.get("/v1/timers", params={"incident_id": "inc-1"}, headers={"Authorization": ""})
        missing = await client.get("/v1/timers")

    assert anonymous.status_code == 401
    assert missing.status_code == 422
    assert missing.headers["content-type"] == "application/problem+json"
    assert "incident_id" in missing.json()["detail"]

"""Every deadline of the process, from incident events to fired timers, on real PostgreSQL.

The handler and the scheduler run in the test's event loop with a fake clock, so hours of an
incident pass in an instant; the service's consumer and NATS are covered in test_timers_service.
"""

import asyncio
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.timers.scheduler import fire_due
from shared.clock import FakeClock
from tests.support.incident import eventually
from tests.support.timers import THREE_LEVELS, TimersHarness, level, process, timers_pool

H, M = timedelta(hours=1), timedelta(minutes=1)


@asynccontextmanager
async def harness(database_url: str):
    async with timers_pool(database_url) as pool:
        yield await TimersHarness(pool, FakeClock(), THREE_LEVELS).organise()


def of_kind(pending: set, kind: str) -> set:
    return {(person, due) for k, person, due in pending if k == kind}


# --- R11: acknowledgement ---


async def test_r11_declaring_pages_the_paged_person_who_must_acknowledge_within_the_levels_time(database_url):
    async with harness(database_url) as t:
        start = t.clock.now()
        await t.apply(t.events.declare("inc-1", manager="sam", severity=2))
        t.clock.advance(15 * M)
        await t.tick()

        [fired] = await t.fired("ack_due")

    assert (fired["person"], fired["incident_id"], fired["detail"]) == ("sam", "inc-1", {"level": 2})
    assert datetime.fromisoformat(fired["due_at"]) == start + 15 * M == datetime.fromisoformat(fired["fired_at"])


async def test_r11_the_acknowledgement_cancels_the_page_and_nothing_fires(database_url):
    async with harness(database_url) as t:
        await t.apply(t.events.declare("inc-1", manager="sam"))
        t.clock.advance(4 * M)
        await t.apply(t.events.acknowledge("inc-1", "sam"))
        t.clock.advance(10 * M)
        await t.tick()

        assert await t.fired("ack_due") == []
        assert [x["state"] for x in await t.timers("inc-1") if x["kind"] == "ack_due"] == ["cancelled"]


async def test_r11_an_escalation_pages_the_new_manager_under_the_current_level(database_url):
    async with harness(database_url) as t:
        await t.apply(t.events.declare("inc-1", manager="sam", severity=1))
        await t.apply(t.events.change_severity("inc-1", 1, 2))
        t.clock.advance(5 * M)
        await t.tick()  # sam's page is overdue: the incident service escalates on it
        await t.apply(t.events.hand_over("inc-1", "sam", "tom", how="escalated"))
        escalated_at = t.clock.now()
        pages = [x for x in await t.timers("inc-1") if x["kind"] == "ack_due"]

    assert [(x["person"], x["state"]) for x in pages] == [("sam", "fired"), ("tom", "pending")]
    assert pages[1]["due_at"] == escalated_at + 15 * M  # level 2's acknowledge_within


async def test_r11_an_escalation_at_night_is_due_fifteen_minutes_after_the_new_managers_waking_hours_begin(
    database_url,
):
    document = process([level(1), level(2, immediacy="waking_hours", acknowledge_within="PT15M")])
    tokyo = ZoneInfo("Asia/Tokyo")
    async with timers_pool(database_url) as pool:
        t = await TimersHarness(pool, FakeClock(datetime(2026, 1, 8, 1, 40, tzinfo=tokyo)), document).organise()
        await t.apply(t.events.register("tom", "Asia/Tokyo"), t.events.declare("inc-1", manager="sam", severity=2))
        t.clock.advance(20 * M)  # 02:00 in Tokyo: the incident service escalates to Tom, asleep
        await t.apply(t.events.hand_over("inc-1", "sam", "tom", how="escalated"))

        assert of_kind(await t.pending("inc-1"), "ack_due") == {("tom", datetime(2026, 1, 8, 7, 15, tzinfo=tokyo))}


async def test_r11_a_handover_accepted_while_a_page_is_unanswered_ends_the_wait(database_url):
    async with harness(database_url) as t:
        await t.apply(t.events.declare("inc-1", manager="sam"))
        await t.apply(t.events.hand_over("inc-1", "sam", "tom", how="accepted"))

        assert of_kind(await t.pending("inc-1"), "ack_due") == set()


# --- R06: status and public updates ---


async def test_r06_a_workers_update_is_due_every_status_update_every_until_it_comes(database_url):
    async with harness(database_url) as t:
        await t.apply(t.events.declare("inc-1"), t.events.add_worker("inc-1", "wes"))
        joined = t.clock.now()
        t.clock.advance(H)
        await t.tick()
        asked_again = of_kind(await t.pending("inc-1"), "status_update_due")
        t.clock.advance(30 * M)
        await t.apply(t.events.update_status("inc-1", "wes"))
        after_update = of_kind(await t.pending("inc-1"), "status_update_due")
        fired = await t.fired("status_update_due")

    assert [(f["person"], datetime.fromisoformat(f["due_at"])) for f in fired] == [("wes", joined + H)]
    assert asked_again == {("wes", joined + 2 * H)}
    assert after_update == {("wes", t.clock.now() + H)}


async def test_r06_a_status_request_restarts_the_cadence_of_the_workers_asked_only(database_url):
    async with harness(database_url) as t:
        start = t.clock.now()
        await t.apply(
            t.events.declare("inc-1"), t.events.add_worker("inc-1", "wes"), t.events.add_worker("inc-1", "val")
        )
        t.clock.advance(20 * M)
        await t.apply(t.events.request_status("inc-1", ["wes"]))

        assert of_kind(await t.pending("inc-1"), "status_update_due") == {
            ("wes", start + 20 * M + H),
            ("val", start + H),
        }


async def test_r06_a_removed_worker_is_asked_for_no_more_updates(database_url):
    async with harness(database_url) as t:
        await t.apply(t.events.declare("inc-1"), t.events.add_worker("inc-1", "wes"))
        await t.apply(t.events.remove_worker("inc-1", "wes"))
        t.clock.advance(2 * H)
        await t.tick()

        assert await t.fired("status_update_due") == []
        assert of_kind(await t.pending("inc-1"), "worker_fresh") == set()


async def test_r06_a_reminder_firing_while_its_worker_is_removed_leaves_no_next_reminder_behind(database_url):
    async with harness(database_url) as t:
        await t.apply(t.events.declare("inc-1"), t.events.add_worker("inc-1", "wes"))
        t.clock.advance(H)
        removed = t.events.remove_worker("inc-1", "wes")
        async with t.pool.acquire() as firing:
            transaction = firing.transaction()
            await transaction.start()
            # The scheduler fires the reminder and plans the next one, not committed yet...
            assert await fire_due(firing, until=t.clock.now(), fired_at=t.clock.now()) >= 1
            # ...while the removal is applied: it waits for the incident the scheduler holds.
            removal = asyncio.create_task(t.apply(removed))
            await eventually(lambda: t.pool.fetchval("SELECT count(*) > 0 FROM pg_locks WHERE NOT granted"))
            await transaction.commit()
        await removal

        assert of_kind(await t.pending("inc-1"), "status_update_due") == set()
        assert [x["state"] for x in await t.timers("inc-1") if x["kind"] == "status_update_due"] == [
            "fired",
            "cancelled",
        ]


async def test_r06_public_updates_are_due_from_the_declaration_then_from_the_last_one_posted(database_url):
    async with harness(database_url) as t:
        declared = t.clock.now()
        await t.apply(t.events.declare("inc-1"))
        first = of_kind(await t.pending("inc-1"), "public_update_due")
        t.clock.advance(40 * M)
        await t.apply(t.events.post_public_update("inc-1"))

        assert first == {(None, declared + H)}
        assert of_kind(await t.pending("inc-1"), "public_update_due") == {(None, t.clock.now() + H)}


# --- R07: the observers' summary of the workers' updates ---


async def test_r07_the_observers_summary_is_due_every_status_update_every_until_the_resolution(database_url):
    async with harness(database_url) as t:
        declared = t.clock.now()
        await t.apply(t.events.declare("inc-1", severity=2))
        planned = await t.timers("inc-1", "pending")
        for _ in range(2):
            t.clock.advance(2 * H)
            await t.tick()
        await t.apply(t.events.resolve("inc-1"))
        fired = await t.fired("observer_summary_due")
        states = [x["state"] for x in await t.timers("inc-1") if x["kind"] == "observer_summary_due"]

    assert [(x["person"], x["due_at"], x["detail"]) for x in planned if x["kind"] == "observer_summary_due"] == [
        (None, declared + 2 * H, {"level": 2})
    ]  # level 2's status_update_every
    assert [(f["person"], datetime.fromisoformat(f["due_at"]), f["detail"]) for f in fired] == [
        (None, declared + 2 * H, {"level": 2}),
        (None, declared + 4 * H, {"level": 2}),
    ]
    assert states == ["fired", "fired", "cancelled"]


async def test_r13_a_level_change_moves_the_observers_summary_to_the_new_interval_from_the_last_one(database_url):
    async with harness(database_url) as t:
        declared = t.clock.now()
        await t.apply(t.events.declare("inc-1", severity=2))
        t.clock.advance(2 * H)
        await t.tick()  # the first summary, at level 2's two hours
        t.clock.advance(30 * M)
        await t.apply(t.events.change_severity("inc-1", 2, 3))
        slower = of_kind(await t.pending("inc-1"), "observer_summary_due")
        t.clock.advance(2 * H)
        changed_back = t.clock.now()
        await t.apply(t.events.change_severity("inc-1", 3, 1))
        faster = await t.timers("inc-1", "pending")

    assert slower == {(None, declared + 2 * H + 4 * H)}  # level 3: four hours after the last summary
    # Level 1 (every hour) would have wanted one an hour after the last summary: due at the change, not before.
    assert [(x["due_at"], x["detail"]) for x in faster if x["kind"] == "observer_summary_due"] == [
        (changed_back, {"level": 1})
    ]


# --- R13: a level change switches cadences and checklist ---


async def test_r13_a_level_change_replans_status_public_and_checklist_deadlines_under_the_new_level(database_url):
    async with harness(database_url) as t:
        start = t.clock.now()
        await t.apply(t.events.declare("inc-1", severity=2), t.events.add_worker("inc-1", "wes"))
        t.clock.advance(30 * M)
        await t.apply(t.events.complete_step("inc-1", "announce", level=2))
        t.clock.advance(30 * M)
        await t.apply(t.events.change_severity("inc-1", 2, 3))
        at_level_3 = await t.pending("inc-1")
        t.clock.advance(30 * M)
        back = t.clock.now()
        await t.apply(t.events.change_severity("inc-1", 3, 2))
        pending = await t.pending("inc-1")

    assert of_kind(at_level_3, "status_update_due") == {("wes", start + 4 * H)}  # level 3: every 4 h from joining
    assert of_kind(at_level_3, "public_update_due") == set()  # level 3 has no public cadence
    assert {x[2] for x in at_level_3 if x[0] == "checklist_step_due"} == {start + H + 2 * H}  # "ticket"
    assert of_kind(pending, "status_update_due") == {("wes", start + 2 * H)}  # level 2 again: every 2 h
    assert of_kind(pending, "public_update_due") == {(None, start + 2 * H)}  # counted from the declaration
    # Level 2's steps count from the change back to it; "announce" was done at level 2 already.
    assert {x[2] for x in pending if x[0] == "checklist_step_due"} == {back + H}


async def test_r14_a_step_done_at_one_level_is_not_asked_again_at_the_next(database_url):
    async with harness(database_url) as t:
        await t.apply(t.events.declare("inc-1", severity=1))
        t.clock.advance(5 * M)
        await t.apply(t.events.complete_step("inc-1", "announce", level=1), t.events.change_severity("inc-1", 1, 2))
        pending = [x["detail"] for x in await t.timers("inc-1", "pending") if x["kind"] == "checklist_step_due"]

    # Level 2 lists "announce" too, but the incident service takes a step once per incident.
    assert pending == [] or all(detail["step"] != "announce" for detail in pending)
    assert all(detail["level"] == 2 for detail in pending)


async def test_r13_a_level_without_public_updates_cancels_the_public_cadence(database_url):
    async with harness(database_url) as t:
        await t.apply(t.events.declare("inc-1", severity=1), t.events.change_severity("inc-1", 1, 3))

        assert of_kind(await t.pending("inc-1"), "public_update_due") == set()


# --- R14: the checklist ---


async def test_r14_checklist_steps_with_a_deadline_fall_due_unless_completed(database_url):
    async with harness(database_url) as t:
        declared = t.clock.now()
        await t.apply(t.events.declare("inc-1"))
        t.clock.advance(10 * M)
        await t.apply(t.events.complete_step("inc-1", "announce"))
        t.clock.advance(50 * M)
        await t.tick()
        fired = await t.fired("checklist_step_due")
        states = {x["detail"]["step"]: x["state"] for x in await t.timers("inc-1") if x["kind"] == "checklist_step_due"}

    assert [(f["detail"], datetime.fromisoformat(f["due_at"])) for f in fired] == [
        ({"step": "call", "level": 1}, declared + 30 * M)
    ]
    assert states == {"announce": "cancelled", "call": "fired"}  # "test-plan" has no deadline


# --- R05: tenure across incidents ---


async def test_r05_a_person_managing_two_incidents_back_to_back_keeps_one_tenure(database_url):
    async with harness(database_url) as t:
        began = t.clock.now()
        await t.apply(t.events.declare("inc-1", manager="alice"))
        t.clock.advance(3 * H)
        await t.apply(t.events.declare("inc-2", manager="alice"))
        t.clock.advance(H)
        await t.apply(t.events.hand_over("inc-1", "alice", "bob"))
        first, second = await t.pending("inc-1"), await t.pending("inc-2")

    assert of_kind(second, "handover_warning") == {("alice", began + 7 * H)}
    assert of_kind(second, "shift_limit") == {("alice", began + 8 * H)}
    assert of_kind(first, "shift_limit") == {("bob", t.clock.now() + 8 * H)}  # alice's on inc-1 cancelled


async def test_r05_taking_a_role_back_within_the_minimum_break_continues_the_old_tenure(database_url):
    async with harness(database_url) as t:
        began = t.clock.now()
        await t.apply(t.events.declare("inc-1", manager="alice"), t.events.declare("inc-9", manager="bob"))
        t.clock.advance(2 * H)
        await t.apply(t.events.resolve("inc-1"), t.events.resolve("inc-9"))
        t.clock.advance(30 * M)
        await t.apply(t.events.declare("inc-2", manager="alice"))
        t.clock.advance(30 * M)  # bob has had his full hour off
        await t.apply(t.events.declare("inc-3", manager="bob"))

        assert of_kind(await t.pending("inc-2"), "shift_limit") == {("alice", began + 8 * H)}
        assert of_kind(await t.pending("inc-3"), "shift_limit") == {("bob", t.clock.now() + 8 * H)}


async def test_r05_the_warning_and_the_limit_fire_once_for_each_incident_the_person_manages(database_url):
    async with harness(database_url) as t:
        await t.apply(t.events.declare("inc-1", manager="alice"), t.events.acknowledge("inc-1", "alice"))
        t.clock.advance(7 * H + 30 * M)
        await t.apply(t.events.declare("inc-2", manager="alice"), t.events.acknowledge("inc-2", "alice"))
        t.clock.advance(30 * M)
        await t.tick()
        await t.tick()
        fired = [
            (f["kind"], f["incident_id"]) for f in await t.fired() if f["kind"] in ("handover_warning", "shift_limit")
        ]

    assert sorted(fired) == [
        ("handover_warning", "inc-1"),
        ("handover_warning", "inc-2"),
        ("shift_limit", "inc-1"),
        ("shift_limit", "inc-2"),
    ]


# --- R19: worker freshness ---


async def test_r19_worker_fresh_falls_due_when_a_days_work_across_incidents_passes_worker_fresh_for(database_url):
    async with harness(database_url) as t:
        await t.apply(
            t.events.declare("inc-1"), t.events.declare("inc-2", manager="bob"), t.events.add_worker("inc-1", "wes")
        )
        t.clock.advance(5 * H)
        await t.apply(t.events.remove_worker("inc-1", "wes"))
        t.clock.advance(3 * H)
        await t.apply(t.events.add_worker("inc-2", "wes"))
        joined = t.clock.now()
        planned = of_kind(await t.pending("inc-2"), "worker_fresh")
        t.clock.advance(7 * H)
        await t.tick()
        [fired] = await t.fired("worker_fresh")

    assert planned == {("wes", joined + 7 * H)}  # 5 h earlier today + 7 h now = 12 h
    assert (fired["person"], fired["incident_id"]) == ("wes", "inc-2")


# --- the lifecycle ---


async def test_r15_resolving_cancels_everything_and_reopening_replans_the_cadences(database_url):
    async with harness(database_url) as t:
        await t.apply(t.events.declare("inc-1"), t.events.add_worker("inc-1", "wes"))
        t.clock.advance(H / 2)
        await t.apply(t.events.resolve("inc-1"))
        resolved = await t.pending("inc-1")
        t.clock.advance(H)
        await t.apply(t.events.reopen("inc-1"))
        reopened = t.clock.now()
        pending = await t.pending("inc-1")

    assert resolved == set()
    assert {k for k, _, _ in pending} == {
        "status_update_due",
        "public_update_due",
        "observer_summary_due",
        "handover_warning",
        "shift_limit",
        "worker_fresh",
    }
    assert of_kind(pending, "status_update_due") == {("wes", reopened + H)}
    assert of_kind(pending, "public_update_due") == {(None, reopened + H)}
    assert of_kind(pending, "observer_summary_due") == {(None, reopened + H)}


async def test_r16_nothing_ever_fires_for_a_closed_incident(database_url):
    async with harness(database_url) as t:
        await t.apply(
            t.events.declare("inc-1"),
            t.events.resolve("inc-1"),
            t.events.close("inc-1"),
            t.events.reopen("inc-1"),
            t.events.add_worker("inc-1", "wes"),
        )
        t.clock.advance(24 * H)
        await t.tick()

        assert await t.pending("inc-1") == set()
        assert await t.fired() == []

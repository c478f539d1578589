"""The level's policy end to end: who is told (R05, R07, R08, R13, R16, R19), when (R11 immediacy,
durable across restarts), escalation (R11), minor reports to the issue tracker (R12)."""

from datetime import timedelta

from standardwebhooks import Webhook

from shared.clock import FakeClock
from tests.support.incident import eventually
from tests.support.notifier import (
    SECRET,
    Receiver,
    all_in_state,
    deliveries,
    level,
    notifier,
    one_in_state,
    process,
    utc,
)

OBSERVED = process(
    [
        level(1, observers=[{"group": "executives", "channel": "webhook", "immediacy": "any_hour"}]),
        level(
            2, immediacy="waking_hours", observers=[{"person": "cfo", "channel": "webhook", "immediacy": "any_hour"}]
        ),
    ]
)


def reasons(hook: Receiver, path: str) -> list[str]:
    return [r.body["reason"] for r in hook.to(path)]


async def test_r07_r13_observers_per_level_on_declaration_on_a_level_change_and_on_briefings(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(OBSERVED, alice=hook.url("/alice"), cfo=hook.url("/cfo"))
        for exec_id in ("eve", "ed"):
            await run.producer.person(exec_id, hook.url(f"/{exec_id}"), groups=["executives", "board"])
        await run.producer.person("bystander", hook.url("/bystander"), groups=["engineering"])
        await run.producer.declare("inc-1", "alice")
        await eventually(all_in_state(run.api, "delivered", 3))
        assert reasons(hook, "/eve") == reasons(hook, "/ed") == ["observer"]
        assert hook.to("/cfo") == hook.to("/bystander") == []
        assert 'as a member of "executives"' in hook.to("/eve")[0].body["message"]

        await run.producer.publish(
            "warroom.incident.severity_changed.v1",
            "inc-1",
            {"previous": 1, "severity": 2, "reason": "workaround in place", "by": "alice"},
        )
        await eventually(lambda: hook.to("/cfo"))
        assert reasons(hook, "/cfo") == ["severity_changed"]
        body = hook.to("/cfo")[0].body
        assert body["severity"] == 2 and "from level 1 to level 2" in body["message"]

        await run.producer.publish(
            "warroom.incident.observers_briefed.v1", "inc-1", {"summary": "mitigated, monitoring", "by": "alice"}
        )
        await eventually(lambda: len(hook.to("/cfo")) == 2)
        assert reasons(hook, "/cfo") == ["severity_changed", "observers_briefed"]
        assert reasons(hook, "/eve") == ["observer"]  # level 2's policy names the CFO only


async def test_r11_a_waking_hours_notice_waits_for_the_morning_and_survives_a_restart(database_url, nats_url):
    clock = FakeClock(utc(2026, 3, 2, 3, 0))  # a Monday, 03:00 UTC
    async with Receiver() as hook:
        async with notifier(database_url, nats_url, clock=clock) as run:
            await run.organisation(OBSERVED, alice=hook.url("/alice"))
            await run.producer.declare("inc-1", "alice", severity=2)
            deferred = await eventually(one_in_state(run.api, "pending", person="alice"))
            assert deferred["not_before"] == deferred["next_attempt_at"] == "2026-03-02T07:00:00Z"
            assert deferred["attempts"] == 0 and hook.requests == []

        clock.advance(timedelta(hours=4))  # 07:00 while the notifier was down
        async with notifier(database_url, nats_url, clock=clock) as run:
            delivered = await eventually(one_in_state(run.api, "delivered", person="alice"))
            assert delivered["id"] == deferred["id"] and delivered["delivered_at"] == "2026-03-02T07:00:00Z"
            assert [r.body["reason"] for r in hook.requests] == ["paged"]


async def test_r11_an_unacknowledged_page_escalates_to_the_next_sme_then_observers_hear_it_is_unanswered(
    database_url, nats_url
):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(OBSERVED, alice=hook.url("/alice"), sam=hook.url("/sam"))
        await run.producer.person("eve", hook.url("/eve"), groups=["executives"])
        await run.producer.declare("inc-1", "alice", smes=["alice", "sam"])
        await run.producer.publish(
            "warroom.incident.manager_changed.v1",
            "inc-1",
            {"previous": "alice", "manager": "sam", "how": "escalated", "reason": "ack_due", "by": "system"},
        )
        await eventually(lambda: len(hook.to("/sam")) == 2)
        # Listed as the incident's other SME at the declaration (R02), then paged by the escalation.
        assert sorted(reasons(hook, "/sam")) == ["escalated", "sme_listed"]
        [page] = [r for r in hook.to("/sam") if r.body["reason"] == "escalated"]
        assert "Acknowledge within 5 minutes" in page.body["message"]

        await run.producer.publish("warroom.incident.page_unanswered.v1", "inc-1", {"paged": "sam", "timer_id": "t"})
        await eventually(lambda: len(hook.to("/eve")) == 2)
        assert reasons(hook, "/eve") == ["observer", "page_unanswered"]
        assert "Sam stays its manager" in hook.to("/eve")[1].body["message"]


async def test_r05_handover_warning_and_shift_limit_breach_reach_manager_smes_and_observers(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(OBSERVED, alice=hook.url("/alice"), sam=hook.url("/sam"), bob=hook.url("/bob"))
        await run.producer.declare("inc-1", "alice", smes=["alice", "sam"])
        await run.producer.publish("warroom.incident.observer_added.v1", "inc-1", {"person": "bob", "by": "alice"})
        await eventually(run.caught_up)
        await run.producer.timer("handover_warning", "inc-1", "alice")
        await eventually(lambda: len(hook.to("/sam")) == 2)
        await run.producer.publish(
            "warroom.incident.shift_limit_breached.v1",
            "inc-1",
            {"manager": "alice", "tenure_started_at": "2026-03-02T00:00:00Z", "limit": "PT8H"},
        )
        await eventually(
            lambda: len(hook.to("/bob")) == 2 and len(hook.to("/sam")) == 3 and len(hook.to("/alice")) == 3
        )

        assert reasons(hook, "/alice") == ["paged", "handover_due", "shift_limit"]
        assert reasons(hook, "/sam") == ["sme_listed", "handover_due", "shift_limit_breached"]
        assert reasons(hook, "/bob") == ["observer_added", "shift_limit_breached"]


async def test_r08_r06_r14_r19_the_pr_manager_workers_and_manager_hear_what_is_asked_of_them(database_url, nats_url):
    checklist = [{"id": "announce", "title": "Announce in the chat room", "due_within": "PT10M"}]
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(
            process([level(1, requires_pr_manager=True, checklist=checklist)]),
            alice=hook.url("/alice"),
            pam=hook.url("/pam"),
            wes=hook.url("/wes"),
        )
        await run.producer.declare("inc-1", "alice")
        await run.producer.publish("warroom.incident.pr_manager_assigned.v1", "inc-1", {"person": "pam", "by": "alice"})
        await run.producer.publish(
            "warroom.incident.worker_added.v1",
            "inc-1",
            {"person": "wes", "by": "alice", "worked_seconds_last_24h": 46800, "fresh": False},
        )
        await run.producer.publish("warroom.incident.status_requested.v1", "inc-1", {"by": "alice", "workers": ["wes"]})
        await eventually(run.caught_up)
        await run.producer.timer("public_update_due", "inc-1")
        await run.producer.timer("checklist_step_due", "inc-1", step="announce")
        await eventually(
            lambda: len(hook.to("/alice")) == 4 and len(hook.to("/pam")) == 2 and len(hook.to("/wes")) == 2
        )

        assert "This level needs a PR manager" in hook.to("/alice")[0].body["message"]
        assert sorted(reasons(hook, "/alice")) == [
            "checklist_step_due",
            "paged",
            "public_update_due",
            "worker_not_fresh",
        ]
        assert reasons(hook, "/pam") == ["pr_manager_assigned", "public_update_due"]
        assert reasons(hook, "/wes") == ["worker_added", "status_requested"]
        step = next(r.body for r in hook.to("/alice") if r.body["reason"] == "checklist_step_due")
        assert '"Announce in the chat room"' in step["message"] and step["ask"] == "Do it now and mark it done."


async def test_r16_a_published_postmortem_links_its_report_for_participants_and_observers(database_url, nats_url):
    saturday = FakeClock(utc(2026, 3, 7, 10, 0))
    async with (
        Receiver() as hook,
        notifier(database_url, nats_url, clock=saturday, public_postmortem_url="https://warroom.example.com/pm") as run,
    ):
        await run.organisation(OBSERVED, alice=hook.url("/alice"), wes=hook.url("/wes"))
        await run.producer.person(
            "eve",
            hook.url("/eve"),
            groups=["executives"],
            working_hours={"start": "00:00", "end": "24:00", "days": [1, 2, 3, 4, 5, 6, 7]},
        )
        await run.producer.declare("inc-1", "alice")
        await run.producer.publish("warroom.incident.worker_added.v1", "inc-1", {"person": "wes", "by": "alice"})
        await run.producer.publish("warroom.incident.closed.v1", "inc-1", {"by": "alice"})
        await eventually(run.caught_up)
        await run.producer.postmortem_published("inc-1", "alice")
        await eventually(lambda: len(hook.to("/eve")) == 2)

        link = "https://warroom.example.com/pm/v1/postmortems/inc-1/report.html"
        published = hook.to("/eve")[1].body
        assert published["reason"] == "postmortem_published" and published["link"] == link
        assert link in published["message"]
        # Reading it is no emergency: the participants, who work 9 to 5 on weekdays, get it on Monday.
        waiting = [d for d in await deliveries(run.api, incident_id="inc-1")() if d["state"] == "pending"]
        assert {(d["recipient"], d["reason"], d["not_before"]) for d in waiting} == {
            ("alice", "postmortem_published", "2026-03-09T09:00:00Z"),
            ("wes", "postmortem_published", "2026-03-09T09:00:00Z"),
        }


async def test_r12_a_minor_report_is_forwarded_signed_to_the_issue_tracker(database_url, nats_url):
    async with Receiver() as hook, notifier(database_url, nats_url) as run:
        await run.organisation(process(issue_tracker_webhook=hook.url("/tracker")))
        report = await run.producer.publish(
            "warroom.report.filed.v1",
            "report-1",
            {
                "id": "report-1",
                "title": "Typo on the invoice",
                "description": "says 'Totla'",
                "aspect": "billing",
                "by": "reader",
            },
        )
        delivery = await eventually(one_in_state(run.api, "delivered", person="issue_tracker"))

        [request] = hook.to("/tracker")
        body = Webhook(SECRET).verify(request.raw, request.headers)
        assert body["reason"] == "minor_report" and body["title"] == "Typo on the invoice"
        assert body["event"]["id"] == report.id and delivery["channel"] == "issue_tracker"
        assert delivery["incident_id"] is None


async def test_r12_without_an_issue_tracker_a_minor_report_goes_nowhere(database_url, nats_url):
    async with notifier(database_url, nats_url) as run:
        await run.organisation()
        await run.producer.publish(
            "warroom.report.filed.v1",
            "report-1",
            {"id": "report-1", "title": "Typo", "description": "", "aspect": "billing", "by": "reader"},
        )
        await eventually(run.caught_up)
        assert await deliveries(run.api)() == []

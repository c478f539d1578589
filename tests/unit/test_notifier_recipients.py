"""Who is told what (R02, R04, R05, R06, R07, R08, R11, R13, R15, R16, R19) and what each message says."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.notifier import incidents, messages, phrasing
from services.notifier.incidents import IncidentView, StatusUpdate, Summary
from services.notifier.recipients import Notice, notices
from shared.process.hours import ANY_HOUR
from shared.process.rules import Rules

INCIDENT = IncidentView(
    "inc-1",
    "Checkout down",
    "payments",
    1,
    1,
    "alice",
    smes=("alice", "sam"),
    workers=("wes",),
    observers=("olga",),
    pr_manager="pam",
    participants=("alice", "sam", "wes", "pam"),
)
EXECUTIVES = {"group": "executives", "channel": "email", "immediacy": "waking_hours"}
LEVEL_POLICY = {
    "level": 1,
    "name": "Critical",
    "description": "worst case",
    "immediacy": "any_hour",
    "communications": "incident chat room + conference call",
    "acknowledge_within": "PT5M",
    "observers": [EXECUTIVES, {"person": "cfo", "channel": "sms", "immediacy": "any_hour"}],
    "checklist": [{"id": "announce", "title": "Announce in the chat room", "due_within": "PT10M"}],
    "status_update_every": "PT1H",
    "public_update_every": "PT30M",
    "requires_pr_manager": True,
}
PROCESS = {
    "levels": [LEVEL_POLICY],
    "manager_shift_limit": "PT8H",
    "handover_warning_after": "PT7H",
    "worker_fresh_for": "PT12H",
}
LEVEL = Rules.of(PROCESS).level(1)
OBSERVERS = [
    Notice("observer", "observer", group="executives", channel="email", immediacy="waking_hours"),
    # sms: the person's Apprise URL for it, else every channel they have (handlers._channels decides).
    Notice("observer", "observer", person="cfo", channel="sms", immediacy="any_hour"),
    Notice("observer", "observer", person="olga"),
]


def incident_event(name: str) -> str:
    return f"warroom.incident.{name}.v1"


def who(found: list[Notice]) -> list[tuple[str | None, str]]:
    return [(n.person or n.group, n.reason) for n in found]


def test_r02_declaration_pages_the_paged_person_first_then_r07_the_levels_observers():
    data = {"paged": "alice", "manager": "alice", "smes": ["alice"], "aspect": "payments"}
    found = notices(incident_event("declared"), data, INCIDENT, LEVEL)
    assert found[0] == Notice("paged", "manager", person="alice")
    assert found[1:] == OBSERVERS


def test_r02_the_incidents_other_smes_are_told_they_are_on_its_list():
    data = {"paged": "alice", "manager": "alice", "smes": ["alice", "sam", "sue"], "aspect": "payments"}
    found = notices(incident_event("declared"), data, INCIDENT, LEVEL)
    # After the page, before the observers; the level's immediacy (None here) as for the page.
    assert found[:3] == [
        Notice("paged", "manager", person="alice"),
        Notice("sme_listed", "sme", person="sam"),
        Notice("sme_listed", "sme", person="sue"),
    ]
    assert found[3:] == OBSERVERS
    # A manager named by the declaration is paged; every SME of the aspect is told they are listed.
    named = {**data, "paged": "dave", "manager": "dave"}
    assert who(notices(incident_event("declared"), named, INCIDENT, LEVEL))[:4] == [
        ("dave", "paged"),
        ("alice", "sme_listed"),
        ("sam", "sme_listed"),
        ("sue", "sme_listed"),
    ]
    message = compose("sme_listed", "sme", data)
    assert 'declared for "payments", and you are on its list of subject-matter experts (R02)' in message.what
    assert message.ask.startswith("Alice is paged first; unacknowledged within 5 minutes, the page escalates")


def test_r11_an_escalation_pages_the_new_manager_who_must_acknowledge():
    data = {"previous": "alice", "manager": "sam", "how": "escalated", "by": "system"}
    assert notices(incident_event("manager_changed"), data, INCIDENT, LEVEL) == [
        Notice("escalated", "manager", person="sam")
    ]


def test_r04_a_forced_handover_tells_the_new_manager():
    forced = {"previous": "alice", "manager": "bob", "how": "forced", "reason": "unreachable", "by": "admin"}
    assert who(notices(incident_event("manager_changed"), forced, INCIDENT, LEVEL)) == [("bob", "handover_forced")]


def test_r04_the_offering_manager_hears_the_handover_was_accepted():
    accepted = {"previous": "alice", "manager": "bob", "how": "accepted", "by": "bob"}
    after = replace(INCIDENT, manager="bob")  # the projection has applied the change
    assert notices(incident_event("manager_changed"), accepted, after, LEVEL) == [
        Notice("handover_accepted", "previous_manager", person="alice")
    ]
    message = compose("handover_accepted", "previous_manager", accepted, after)
    assert message.what.startswith('Bob accepted the manager role of incident "Checkout down"')
    assert message.why == "You offered them the role."


def test_r11_an_unanswered_page_tells_the_observers():
    found = notices(incident_event("page_unanswered"), {"paged": "cat", "timer_id": "t"}, INCIDENT, LEVEL)
    assert {n.reason for n in found} == {"page_unanswered"} and [n.role for n in found] == ["observer"] * 3


def test_r04_a_handover_offer_tells_the_offeree_and_a_decline_tells_the_manager():
    offer = {"to": "bob", "briefing": "failover running", "by": "alice"}
    assert who(notices(incident_event("handover_offered"), offer, INCIDENT, LEVEL)) == [("bob", "handover_offered")]
    assert who(notices(incident_event("handover_declined"), {"to": "bob", "by": "bob"}, INCIDENT, LEVEL)) == [
        ("alice", "handover_declined")
    ]


def test_r05_the_handover_warning_tells_the_current_manager_and_the_incidents_smes():
    data = {"incident_id": "inc-1", "person": "someone-else"}
    found = notices("warroom.timer.handover_warning.v1", data, replace(INCIDENT, manager="bob"), LEVEL)
    assert [(n.person, n.reason, n.role) for n in found] == [
        ("bob", "handover_due", "manager"),
        ("alice", "handover_due", "sme"),
        ("sam", "handover_due", "sme"),
    ]


def test_r05_a_shift_limit_breach_is_escalated_to_manager_smes_and_observers():
    data = {"manager": "alice", "tenure_started_at": "2026-03-02T00:00:00Z", "limit": "PT8H"}
    found = notices(incident_event("shift_limit_breached"), data, INCIDENT, LEVEL)
    assert who(found)[:3] == [
        ("alice", "shift_limit"),
        ("alice", "shift_limit_breached"),
        ("sam", "shift_limit_breached"),
    ]
    assert {n.role for n in found[3:]} == {"observer"} and len(found[3:]) == 3
    # The timer alone tells nobody: the incident service decides the breach, and we tell that.
    assert notices("warroom.timer.shift_limit.v1", {"incident_id": "inc-1"}, INCIDENT, LEVEL) == []


def test_r13_a_severity_change_informs_the_new_levels_observers_and_the_pr_manager():
    data = {"previous": 2, "severity": 1, "reason": "worse", "by": "alice"}
    found = notices(incident_event("severity_changed"), data, INCIDENT, LEVEL)
    assert [n.person or n.group for n in found] == ["executives", "cfo", "olga", "pam"]
    assert {n.reason for n in found} == {"severity_changed"} and found[-1].role == "pr_manager"


def test_r07_observer_briefings_reach_the_observers():
    found = notices(incident_event("observers_briefed"), {"summary": "fixed", "by": "alice"}, INCIDENT, LEVEL)
    assert [n.person or n.group for n in found] == ["executives", "cfo", "olga"]


UPDATE = {
    "worker": "wes",
    "learned": "the pool is exhausted",
    "tried": "raising the limit",
    "outcome": "errors halved",
    "working_on": "finding the leak",
    "remaining": "a fix and a deploy",
}


def test_r06_a_status_update_reaches_the_manager_at_once():
    found = notices(incident_event("status_updated"), UPDATE, INCIDENT, LEVEL)
    assert found == [Notice("status_update", "manager", person="alice", immediacy=ANY_HOUR)]
    message = compose("status_update", "manager", UPDATE)
    assert message.what == (
        'Wes posted a status update on incident "Checkout down" (level 1, Critical): '
        'learned "the pool is exhausted"; tried "raising the limit"; outcome "errors halved"; '
        'working on "finding the leak"; remaining "a fix and a deploy".'
    )
    assert message.why == "You are its manager." and message.ask.startswith("Act on it (R06)")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)


def update(sequence: int, worker: str, when: datetime, **parts) -> StatusUpdate:
    return incidents.status_update("inc-1", sequence, when, {**UPDATE, "worker": worker, **parts})


def test_r07_observers_get_a_summary_of_the_workers_updates_each_status_cadence():
    timer = {"incident_id": "inc-1", "detail": {"level": 1}}
    found = notices("warroom.timer.observer_summary_due.v1", timer, INCIDENT, LEVEL)
    # The level's observers with their own channel and immediacy, then the incident's.
    assert [(n.person or n.group, n.reason, n.channel, n.immediacy) for n in found] == [
        ("executives", "status_summary", "email", "waking_hours"),
        ("cfo", "status_summary", "sms", "any_hour"),
        ("olga", "status_summary", None, None),
    ]
    assert notices("warroom.timer.observer_summary_due.v1", timer, replace(INCIDENT, status="resolved"), LEVEL) == []

    # Per worker, their latest update since the previous summary; a worker who posted nothing is named.
    two = replace(INCIDENT, workers=("wes", "wil"))
    summary = Summary((update(5, "wes", at(10, 5), outcome="nothing yet"), update(8, "wes", at(10, 40))), since=at(10))
    message = compose("status_summary", "observer", timer, two, summary=summary)
    assert "since the previous summary (2026-03-02 10:00 UTC)" in message.what
    assert (
        'Wes (2026-03-02 10:40 UTC): learned "the pool is exhausted"; tried "raising the limit"; '
        'outcome "errors halved"'
    ) in message.what and "nothing yet" not in message.what
    assert "Wil: no status update since the previous summary (2026-03-02 10:00 UTC)." in message.what
    assert "The next summary follows in 1 hour." in message.ask

    # The first summary reaches back to the declaration; none at all is said so.
    quiet = compose("status_summary", "observer", timer, replace(INCIDENT, workers=()), summary=Summary(()))
    assert quiet.what.endswith("since the declaration (R06): No status update since the declaration.")


def test_r15_resolution_and_reopening_reach_participants_and_observers():
    resolved = {"resolution": "rolled back 4.2", "test_plan": "checkout smoke suite", "by": "alice"}
    found = notices(incident_event("resolved"), resolved, replace(INCIDENT, status="resolved"), LEVEL)
    # Whoever resolved it knows; every other role holder hears it in their role, then the observers.
    assert [(n.person or n.group, n.role) for n in found] == [
        ("wes", "worker"),
        ("sam", "sme"),
        ("pam", "pr_manager"),
        ("executives", "observer"),
        ("cfo", "observer"),
        ("olga", "observer"),
    ]
    assert {n.reason for n in found} == {"resolved"}
    assert (
        'resolved incident "Checkout down" (level 1, Critical): "rolled back 4.2", verified by '
        '"checkout smoke suite" (R15).' in compose("resolved", "worker", resolved).what
    )

    reopened = {"reason": "errors are back", "by": "sam"}
    found = notices(incident_event("reopened"), reopened, INCIDENT, LEVEL)
    assert [n.person or n.group for n in found] == ["alice", "wes", "pam", "executives", "cfo", "olga"]
    assert {n.reason for n in found} == {"reopened"} and found[0].role == "manager"
    assert compose("reopened", "manager", reopened).ask == "Take charge of it again."


def test_r06_a_status_request_tells_exactly_the_workers_asked():
    found = notices(incident_event("status_requested"), {"by": "alice", "workers": ["wes", "wil"]}, INCIDENT, LEVEL)
    assert who(found) == [("wes", "status_requested"), ("wil", "status_requested")]


@pytest.mark.parametrize(
    "kind, reasons",
    [
        ("status_update_due", [("alice", "status_update_due")]),
        ("checklist_step_due", [("alice", "checklist_step_due")]),
        ("public_update_due", [("alice", "public_update_due"), ("pam", "public_update_due")]),
        ("worker_fresh", [("alice", "worker_not_fresh")]),
        ("ack_due", []),
    ],
)
def test_r14_overdue_cadences_steps_and_r19_freshness_tell_the_manager(kind, reasons):
    assert who(notices(f"warroom.timer.{kind}.v1", {"incident_id": "inc-1"}, INCIDENT, LEVEL)) == reasons


def test_r14_timers_of_a_resolved_incident_remind_nobody():
    resolved = replace(INCIDENT, status="resolved")
    assert notices("warroom.timer.status_update_due.v1", {"incident_id": "inc-1"}, resolved, LEVEL) == []


def test_r19_adding_a_worker_who_is_not_fresh_tells_the_manager():
    data = {"person": "wil", "by": "alice", "worked_seconds_last_24h": 50000, "fresh": False}
    assert who(notices(incident_event("worker_added"), data, INCIDENT, LEVEL)) == [
        ("wil", "worker_added"),
        ("alice", "worker_not_fresh"),
    ]
    assert who(notices(incident_event("worker_added"), {**data, "fresh": True}, INCIDENT, LEVEL)) == [
        ("wil", "worker_added")
    ]


def test_r08_the_pr_manager_is_told_when_assigned_and_when_affected_info_is_asked():
    assert who(notices(incident_event("pr_manager_assigned"), {"person": "pam", "by": "alice"}, INCIDENT, LEVEL)) == [
        ("pam", "pr_manager_assigned")
    ]
    assert who(
        notices(incident_event("affected_info_requested"), {"question": "who?", "by": "alice"}, INCIDENT, LEVEL)
    ) == [("pam", "affected_info_requested")]


def test_r16_a_published_postmortem_reaches_participants_and_observers_in_working_hours():
    found = notices("warroom.postmortem.published.v1", {"incident_id": "inc-1", "by": "alice"}, INCIDENT, LEVEL)
    assert [n.person or n.group for n in found] == ["alice", "sam", "wes", "pam", "executives", "cfo", "olga"]
    assert {n.immediacy for n in found} == {"next_business_day"}


def test_events_that_concern_nobody_tell_nobody():
    assert notices(incident_event("public_update_posted"), {"message": "m", "by": "pam"}, INCIDENT, LEVEL) == []
    assert notices(incident_event("acknowledged"), {"person": "alice"}, INCIDENT, LEVEL) == []


# --- the projection ---


def test_the_projection_follows_roles_and_remembers_every_participant():
    data = {
        "title": "T",
        "description": "",
        "aspect": "a",
        "severity": 2,
        "manager": "alice",
        "smes": ["alice", "sam"],
        "declared_by": "x",
        "process_version": 3,
        "paged": "alice",
    }
    steps = [
        ("declared", data),
        ("worker_added", {"person": "bob", "by": "alice"}),
        (
            "manager_changed",
            {"previous": "alice", "manager": "bob", "how": "accepted", "by": "bob", "removed_from_workers": True},
        ),
        ("observer_added", {"person": "olga", "by": "bob"}),
        ("sme_removed", {"person": "sam", "by": "bob"}),
        ("pr_manager_assigned", {"person": "pam", "by": "bob"}),
        ("severity_changed", {"previous": 2, "severity": 1, "reason": "r", "by": "bob"}),
        ("resolved", {"resolution": "r", "test_plan": "t", "by": "bob"}),
    ]
    incident = None
    for name, event in steps:
        incident = incidents.apply(incident, incident_event(name), event, "inc-9")
    assert incident == IncidentView(
        "inc-9",
        "T",
        "a",
        1,
        3,
        "bob",
        "resolved",
        smes=("alice",),
        workers=(),
        observers=("olga",),
        pr_manager="pam",
        participants=("alice", "sam", "bob", "pam"),
    )
    assert incidents.apply(None, incident_event("worker_added"), {"person": "x", "by": "y"}, "nope") is None


# --- the words ---


def compose(
    reason: str, role: str, data: dict, incident: IncidentView = INCIDENT, link=None, summary=None, **notice
) -> messages.Message:
    names = {"alice": "Alice", "bob": "Bob", "wil": "Wil", "wes": "Wes"}
    ctx = phrasing.MessageContext(
        LEVEL,
        Rules.of(PROCESS),
        names,
        link,
        description=messages.description(PROCESS, incident.severity),
        summary=summary,
    )
    return messages.compose(Notice(reason, role, **notice), incident, data, ctx)


def test_r11_every_message_states_incident_level_why_what_is_asked_and_the_communications():
    message = compose(
        "paged",
        "manager",
        {"paged": "alice", "smes": ["alice"], "aspect": "payments"},
        replace(INCIDENT, pr_manager=None),
    )
    assert (
        message.what
        == 'Incident "Checkout down" (level 1, Critical) was declared for "payments". Level 1 means: worst case.'
    )
    assert message.why == 'You are paged as the first subject-matter expert for "payments" (R02).'
    assert message.ask.startswith("Acknowledge within 5 minutes")
    assert "This level needs a PR manager" in message.ask
    assert message.text.endswith("Communications: incident chat room + conference call.")


def test_r11_a_page_reads_on_a_lock_screen_what_happened_who_declared_it_and_how_to_acknowledge():
    link = "https://warroom.example/links/acknowledge/abc.def"
    data = {"paged": "alice", "smes": ["alice"], "aspect": "payments", "declared_by": "bob"}
    message = messages.compose(
        Notice("paged", "manager"),
        INCIDENT,
        data,
        phrasing.MessageContext(LEVEL, Rules.of(PROCESS), {"bob": "Bob"}, description="worst case", acknowledge=link),
    )
    first = (
        'Incident "Checkout down" (level 1, Critical) was declared for "payments" by Bob. Level 1 means: worst case.'
    )
    assert message.text.startswith(first)
    assert message.ask.startswith(
        f"Acknowledge within 5 minutes, or the next SME is paged (R11). Acknowledge here: {link} "
    )


def test_r10_the_catch_all_is_told_the_aspect_has_no_sme():
    message = compose("paged", "manager", {"paged": "cat", "smes": [], "aspect": "office", "coverage_gap": True})
    assert 'catch-all subject-matter expert, because aspect "office" has no SME' in message.why


def test_r02_a_named_manager_is_told_the_declaration_named_them():
    assert (
        "the declaration names you"
        in compose("paged", "manager", {"paged": "dave", "smes": ["alice"], "aspect": "payments"}).why
    )


def test_r07_a_group_observer_is_told_why_and_that_nothing_but_readiness_is_asked():
    message = compose("observer", "observer", {}, group="executives")
    assert 'as a member of "executives"' in message.why and "worst case" in message.what
    assert "Be ready to answer customers" in message.ask


def test_r05_shift_messages_spell_out_the_process_limits_to_manager_and_smes():
    manager = compose("handover_due", "manager", {})
    assert manager.what.startswith("You have managed") and "for 7 hours" in manager.what
    assert "shift limit of 8 hours" in manager.ask
    assert compose("handover_due", "sme", {}).what.startswith("Alice has managed")
    assert "manager shift limit of 8 hours" in compose("shift_limit", "manager", {}).what


def test_r14_a_due_checklist_step_is_named_by_its_title():
    message = compose("checklist_step_due", "manager", {"detail": {"step": "announce"}})
    assert '"Announce in the chat room"' in message.what


def test_r19_the_manager_is_told_whom_to_relieve():
    message = compose("worker_not_fresh", "manager", {"person": "wil", "fresh": False})
    assert "Wil has been on incidents longer than 12 hours" in message.what and "Relieve Wil" in message.ask


def test_r08_the_pr_manager_learns_the_public_cadence():
    assert "every 30 minutes" in compose("pr_manager_assigned", "pr_manager", {"person": "pam", "by": "alice"}).ask


def test_r16_the_postmortem_message_links_the_report():
    link = "http://127.0.0.1:8083/v1/postmortems/inc-1/report.html"
    assert link in compose("postmortem_published", "participant", {}, link=link).text


def test_an_unknown_level_still_reads_as_a_sentence():
    ctx = phrasing.MessageContext(Rules.of({}).level(1), Rules.of({}), {})
    text = messages.compose(
        Notice("paged", "manager"), INCIDENT, {"paged": "alice", "smes": ["alice"], "aspect": "a"}, ctx
    ).text
    assert "(level 1)" in text and "Communications" not in text

"""The pure mapping from events to post-mortem timeline entries, role changes and draft facts."""
from datetime import datetime, timedelta, timezone

from services.postmortem.domain import DraftChanged, DraftOpened, RoleEnded, RoleStarted, project
from services.postmortem.report import document, durations
from services.postmortem.summaries import summarise
from shared.contract import Envelope, event_id

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
NAMES = {"ann": "Ann Archer", "bob": "Bob Baker", "cat": "Cat Cole", "dan": "Dan Dunn"}


def name(person):
    return NAMES.get(person, person)


def incident_event(kind: str, sequence: int, data: dict, minutes: int = 0) -> Envelope:
    return Envelope(id=event_id("inc-1", sequence), source="warroom/incident", type=f"warroom.incident.{kind}.v1",
                    subject="inc-1", time=T0 + timedelta(minutes=minutes), data=data, sequence=sequence,
                    position=sequence)


DECLARED = {"title": "Checkout down", "description": "500s on /pay", "aspect": "billing", "severity": 2,
            "manager": "ann", "smes": ["ann", "bob"], "declared_by": "dan", "process_version": 1, "paged": "ann"}


def test_r16_declaration_opens_the_draft_with_declarer_manager_and_smes():
    projection = project(incident_event("declared", 1, DECLARED))

    entry = projection.entry
    assert (entry.incident_id, entry.at, entry.actor, entry.sequence) == ("inc-1", T0, "dan", 1)
    assert entry.event_id == event_id("inc-1", 1)
    opened = projection.changes[0]
    assert isinstance(opened, DraftOpened)
    assert (opened.title, opened.severity, opened.manager, opened.process_version) == ("Checkout down", 2, "ann", 1)
    assert projection.changes[1:] == (RoleStarted("dan", "declarer"), RoleStarted("ann", "manager"),
                                      RoleStarted("ann", "sme"), RoleStarted("bob", "sme"))
    assert summarise(entry.type, entry.data, name) == \
        "Dan Dunn declared “Checkout down” for billing at level 2; Ann Archer manages"


def test_r03_an_accepted_handover_moves_the_tenure_and_ends_the_new_managers_work():
    projection = project(incident_event("manager_changed", 4, {
        "previous": "ann", "manager": "cat", "how": "accepted", "by": "cat", "removed_from_workers": True}))

    assert projection.changes == (RoleEnded("manager", "ann"), RoleEnded("worker", "cat"),
                                  RoleStarted("cat", "manager"), DraftChanged({"manager": "cat"}))
    assert summarise(projection.entry.type, projection.entry.data, name) == \
        "Cat Cole took over as manager from Ann Archer"


def test_r15_resolution_records_resolution_and_test_plan_and_ends_the_tenure():
    projection = project(incident_event("resolved", 6, {"resolution": "rolled back", "test_plan": "smoke tests",
                                                        "by": "cat"}, minutes=90))

    assert projection.changes == (
        RoleEnded("manager"),
        DraftChanged({"resolved_at": T0 + timedelta(minutes=90), "resolved_by": "cat",
                      "resolution": "rolled back", "test_plan": "smoke tests"}))


def test_offers_declines_and_worker_changes_read_as_sentences():
    cases = [
        ("worker_added", {"person": "bob", "by": "ann"}, "Ann Archer added Bob Baker as a worker"),
        ("worker_removed", {"person": "bob", "by": "ann"}, "Ann Archer released Bob Baker from the workers"),
        ("handover_offered", {"to": "cat", "briefing": "db is fine", "by": "ann"},
         "Ann Archer offered the manager role to Cat Cole: “db is fine”"),
        ("handover_declined", {"to": "cat", "by": "cat"}, "Cat Cole declined the manager role"),
        ("severity_changed", {"previous": 2, "severity": 1, "reason": "all sites down", "by": "ann"},
         "Ann Archer raised the severity from level 2 to level 1: all sites down"),
    ]
    for kind, data, sentence in cases:
        entry = project(incident_event(kind, 2, data)).entry
        assert entry.actor == data["by"]
        assert summarise(entry.type, entry.data, name) == sentence


def test_an_unknown_incident_event_type_is_kept_in_the_timeline_with_a_generic_summary():
    projection = project(incident_event("acknowledged", 2, {"by": "ann", "note": "on it"}))

    assert projection.changes == ()
    assert projection.entry.actor == "ann"
    assert summarise(projection.entry.type, projection.entry.data, name) == "Acknowledged (by Ann Archer)"


def test_a_timer_firing_is_an_entry_about_the_person_it_concerns():
    timer = Envelope(id=event_id("timer-7", 1), source="warroom/timers", type="warroom.timer.handover_warning.v1",
                     subject="inc-1", time=T0 + timedelta(hours=7), sequence=1, position=3,
                     data={"timer_id": "timer-7", "kind": "handover_warning", "incident_id": "inc-1",
                           "person": "ann", "due_at": "2026-01-05T16:00:00Z", "fired_at": "2026-01-05T16:00:00Z"})

    projection = project(timer)

    assert projection.changes == ()
    assert (projection.entry.incident_id, projection.entry.actor) == ("inc-1", "ann")
    assert summarise(timer.type, timer.data, name) == \
        "Handover due: Ann Archer is nearing the manager shift limit (R05)"


def test_a_delivery_about_an_incident_is_recorded_and_one_about_a_minor_report_is_not():
    def delivery(incident_id):
        return Envelope(id=event_id("d-1", 1), source="warroom/notifier", type="warroom.notification.delivered.v1",
                        subject=incident_id or "report-1", time=T0, sequence=1, position=1,
                        data={"delivery_id": "d-1", "incident_id": incident_id, "recipient": "bob",
                              "channel": "webhook", "reason": "paged", "event_id": "e"})

    entry = project(delivery("inc-1")).entry
    assert (entry.incident_id, entry.actor) == ("inc-1", "bob")
    assert summarise(entry.type, entry.data, name) == "Bob Baker was notified by webhook (paged)"
    assert project(delivery(None)) is None


def test_time_at_each_level_runs_from_declaration_through_severity_changes_to_resolution():
    draft = {"declared_at": T0, "resolved_at": T0 + timedelta(hours=3), "initial_severity": 2}
    timeline = [{"type": "warroom.incident.severity_changed.v1", "at": T0 + timedelta(hours=1),
                 "data": {"previous": 2, "severity": 1, "reason": "worse", "by": "ann"}}]

    assert durations(draft, timeline, now=T0 + timedelta(days=1)) == \
        {"to_resolve": 3 * 3600.0, "at_level": {"2": 3600.0, "1": 7200.0}}


def test_the_document_has_the_seven_sections_in_the_order_of_the_spec():
    draft = {"incident_id": "inc-1", "state": "draft", "title": "t", "description": "d", "aspect": "a",
             "declared_at": T0, "declared_by": "dan", "resolved_at": None, "resolved_by": None, "initial_severity": 3,
             "severity": 3, "process_version": 1, "coverage_gap": False, "resolution": None, "test_plan": None}

    doc = document(draft, [], [], NAMES, now=T0 + timedelta(minutes=10))

    assert [s["id"] for s in doc["sections"]] == ["problem", "participants", "cause", "handling", "solution",
                                                  "prevention", "handling_lessons"]
    assert doc["durations"] == {"to_resolve": None, "at_level": {"3": 600.0}}

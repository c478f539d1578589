"""The post-mortem's pure core: which events become timeline rows, the story folded from them, and
the sentences and quotes the timeline shows."""

import json
from datetime import UTC, datetime, timedelta

from services.postmortem import render
from services.postmortem.domain import fold
from services.postmortem.report import SECTION_IDS, document, durations
from services.postmortem.schemas import Postmortem, SectionId
from services.postmortem.summaries import quote, summarise
from services.postmortem.timeline import Entry, entry_of
from shared.contract import Envelope, event_id

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NAMES = {"ann": "Ann Archer", "bob": "Bob Baker", "cat": "Cat Cole", "dan": "Dan Dunn"}
DECLARED = {
    "title": "Checkout down",
    "description": "500s on /pay",
    "aspect": "billing",
    "severity": 2,
    "manager": "ann",
    "smes": ["ann", "bob"],
    "declared_by": "dan",
    "process_version": 1,
    "paged": "ann",
}


def name(person):
    return NAMES.get(person, person)


def envelope(kind: str, sequence: int, data: dict, minutes: float = 0) -> Envelope:
    return Envelope(
        id=event_id("inc-1", sequence),
        source="warroom/incident",
        type=f"warroom.incident.{kind}.v1",
        subject="inc-1",
        time=T0 + timedelta(minutes=minutes),
        data=data,
        sequence=sequence,
        position=sequence,
    )


def story(*events: tuple[str, dict, float]):
    """The story of a declaration followed by ``events`` (kind, data, minutes)."""
    envelopes = [envelope("declared", 1, DECLARED)] + [
        envelope(kind, n, data, minutes) for n, (kind, data, minutes) in enumerate(events, start=2)
    ]
    return fold([entry_of(e) for e in envelopes])


def test_r16_the_declaration_opens_the_story_with_declarer_manager_smes_and_the_first_page():
    s = story()

    assert (s.title, s.severity, s.manager, s.process_version, s.status) == ("Checkout down", 2, "ann", 1, "open")
    assert [(st.person, st.role) for st in s.stints] == [
        ("dan", "declarer"),
        ("ann", "manager"),
        ("ann", "sme"),
        ("bob", "sme"),
    ]
    assert [(p.person, p.at, p.level) for p in s.pages] == [("ann", T0, 2)]
    assert (
        summarise("warroom.incident.declared.v1", DECLARED, name)
        == "Dan Dunn declared “Checkout down” for billing at level 2; Ann Archer manages"
    )


def test_there_is_no_story_before_the_declaration_arrives():
    assert fold([entry_of(envelope("acknowledged", 2, {"person": "ann"}))]) is None


def test_r03_an_accepted_handover_moves_the_tenure_and_ends_the_new_managers_work():
    s = story(
        ("worker_added", {"person": "cat", "by": "ann"}, 5),
        (
            "manager_changed",
            {"previous": "ann", "manager": "cat", "how": "accepted", "by": "cat", "removed_from_workers": True},
            30,
        ),
    )

    tenures = [(st.person, st.start, st.end) for st in s.held("manager")]
    assert tenures == [("ann", T0, T0 + timedelta(minutes=30)), ("cat", T0 + timedelta(minutes=30), None)]
    assert [(st.person, st.end) for st in s.held("worker")] == [("cat", T0 + timedelta(minutes=30))]
    assert s.pages[0].ended_how == "handed_over"
    assert (
        summarise(
            "warroom.incident.manager_changed.v1",
            {"previous": "ann", "manager": "cat", "how": "accepted", "by": "cat"},
            name,
        )
        == "Cat Cole took over as manager from Ann Archer"
    )


def test_r11_an_escalation_ends_the_unanswered_page_and_pages_the_new_manager():
    s = story(
        (
            "manager_changed",
            {"previous": "ann", "manager": "bob", "how": "escalated", "by": "warroom", "reason": "no answer"},
            5,
        ),
        ("acknowledged", {"person": "bob"}, 7),
    )

    assert [(p.person, p.ended_how, p.successor, p.acknowledged_at) for p in s.pages] == [
        ("ann", "escalated", "bob", None),
        ("bob", None, None, T0 + timedelta(minutes=7)),
    ]


def test_r15_resolution_ends_the_tenure_and_a_reopening_starts_another():
    s = story(
        ("resolved", {"resolution": "rolled back", "test_plan": "smoke tests", "by": "ann"}, 60),
        ("reopened", {"reason": "errors again", "by": "ann"}, 90),
    )

    assert s.status == "open" and s.resolution is None
    assert [(st.start, st.end) for st in s.held("manager")] == [
        (T0, T0 + timedelta(minutes=60)),
        (T0 + timedelta(minutes=90), None),
    ]
    assert [(p.start, p.end) for p in s.open_periods] == [
        (T0, T0 + timedelta(minutes=60)),
        (T0 + timedelta(minutes=90), None),
    ]


def test_r06_r08_what_people_wrote_is_quoted_as_they_wrote_it():
    update = {
        "worker": "cat",
        "learned": "disk full",
        "tried": "vacuum",
        "outcome": "nothing",
        "working_on": "resize",
        "remaining": "verify",
    }

    assert (
        quote("warroom.incident.status_updated.v1", update)
        == "Learned: disk full\nTried: vacuum\nOutcome: nothing\nWorking on: resize\nRemaining: verify"
    )
    assert quote("warroom.incident.public_update_posted.v1", {"message": "We are on it", "by": "ann"}) == "We are on it"
    assert (
        quote("warroom.incident.severity_changed.v1", {"previous": 2, "severity": 1, "reason": "r", "by": "ann"})
        is None
    )
    assert summarise("warroom.incident.status_updated.v1", update, name) == "Cat Cole reported status"


def test_every_incident_event_type_reads_as_a_sentence_naming_who_did_it():
    cases = [
        (
            "worker_added",
            {"person": "bob", "by": "ann", "fresh": False, "worked_seconds_last_24h": 46_800},
            "Ann Archer added Bob Baker as a worker, already 13 h on incidents in the last 24 hours (R19)",
        ),
        ("worker_removed", {"person": "bob", "by": "ann"}, "Ann Archer released Bob Baker from the workers"),
        ("sme_added", {"person": "bob", "by": "ann"}, "Ann Archer added Bob Baker as an SME"),
        ("observer_removed", {"person": "bob", "by": "ann"}, "Ann Archer removed Bob Baker from the observers"),
        (
            "pr_manager_assigned",
            {"person": "cat", "previous": "bob", "by": "ann"},
            "Ann Archer made Cat Cole PR manager instead of Bob Baker",
        ),
        ("handover_declined", {"to": "cat", "by": "cat"}, "Cat Cole declined the manager role"),
        (
            "severity_changed",
            {"previous": 2, "severity": 1, "reason": "all sites down", "by": "ann"},
            "Ann Archer raised the severity from level 2 to level 1: all sites down",
        ),
        (
            "status_requested",
            {"by": "ann", "workers": ["bob", "cat"]},
            "Ann Archer asked Bob Baker and Cat Cole for a status update",
        ),
        (
            "checklist_step_completed",
            {"step": "announce", "level": 1, "by": "ann"},
            "Ann Archer did checklist step “Announce it” (level 1)",
        ),
        (
            "shift_limit_breached",
            {"manager": "ann", "tenure_started_at": T0.isoformat(), "limit": "PT8H"},
            "Ann Archer reached the manager shift limit of PT8H (R05)",
        ),
        (
            "page_unanswered",
            {"paged": "bob", "timer_id": "t"},
            "Nobody acknowledged the page to Bob Baker and nobody is left to page: observers told (R11)",
        ),
        ("some_future_event", {"by": "ann"}, "Some future event (by Ann Archer)"),
    ]
    for kind, data, sentence in cases:
        assert summarise(f"warroom.incident.{kind}.v1", data, name, {"announce": "Announce it"}) == sentence


def test_timer_firings_and_deliveries_are_rows_about_the_person_they_concern():
    timer = Envelope(
        id=event_id("timer-7", 1),
        source="warroom/timers",
        type="warroom.timer.handover_warning.v1",
        subject="inc-1",
        time=T0 + timedelta(hours=7),
        sequence=1,
        position=3,
        data={
            "timer_id": "timer-7",
            "kind": "handover_warning",
            "incident_id": "inc-1",
            "person": "ann",
            "due_at": "2026-01-05T16:00:00Z",
            "fired_at": "2026-01-05T16:00:00Z",
        },
    )

    def delivery(incident_id):
        return Envelope(
            id=event_id("d-1", 1),
            source="warroom/notifier",
            type="warroom.notification.delivered.v1",
            subject=incident_id or "report-1",
            time=T0,
            sequence=1,
            position=1,
            data={
                "delivery_id": "d-1",
                "incident_id": incident_id,
                "recipient": "bob",
                "channel": "webhook",
                "reason": "paged",
                "event_id": "e",
            },
        )

    assert (entry_of(timer).incident_id, entry_of(timer).actor) == ("inc-1", "ann")
    assert summarise(timer.type, timer.data, name) == (
        "Handover due: Ann Archer is nearing the manager shift limit (R05)"
    )
    assert (entry_of(delivery("inc-1")).incident_id, entry_of(delivery("inc-1")).actor) == ("inc-1", "bob")
    assert (
        summarise("warroom.notification.delivered.v1", delivery("inc-1").data, name)
        == "Bob Baker was notified by webhook (paged)"
    )
    assert entry_of(delivery(None)) is None


def test_time_at_each_level_counts_only_while_the_incident_is_open():
    s = story(
        ("severity_changed", {"previous": 2, "severity": 1, "reason": "worse", "by": "ann"}, 60),
        ("resolved", {"resolution": "r", "test_plan": "t", "by": "ann"}, 180),
        ("reopened", {"reason": "again", "by": "ann"}, 240),
    )

    assert durations(s, now=T0 + timedelta(minutes=300)) == {
        "to_acknowledge": None,
        "to_first_status_update": None,
        "to_resolve": None,
        "at_level": {"2": 3600.0, "1": 7200.0 + 3600.0},
    }


def test_the_document_has_the_seven_sections_in_the_order_of_the_spec():
    s = story()
    entries = [Entry("inc-1", T0, "e1", 1, "warroom.incident.declared.v1", "dan", DECLARED)]

    doc = document(s, entries, None, NAMES, [], [], now=T0 + timedelta(minutes=10))

    assert (
        [section["id"] for section in doc["sections"]]
        == list(SECTION_IDS)
        == ["problem", "participants", "cause", "handling", "solution", "prevention", "handling_lessons"]
    )
    assert all(section["prompt"] and not section["written"] for section in doc["sections"])
    assert doc["durations"]["at_level"] == {"2": 600.0}


def test_r16_the_api_edits_exactly_the_documents_sections_in_their_order():
    assert [section.value for section in SectionId] == list(SECTION_IDS)


def test_the_json_of_a_document_is_what_its_schema_writes():
    s = story(
        ("acknowledged", {"person": "ann"}, 3),
        ("severity_changed", {"previous": 2, "severity": 1, "reason": "worse", "by": "ann"}, 60.5),
    )
    entries = [
        entry_of(envelope(kind, n, data, m))
        for n, (kind, data, m) in enumerate(
            [
                ("declared", DECLARED, 0),
                ("acknowledged", {"person": "ann"}, 3),
                ("severity_changed", {"previous": 2, "severity": 1, "reason": "worse", "by": "ann"}, 60.5),
            ],
            start=1,
        )
    ]
    edits = [{"section": "cause", "text": "disk", "author": "ann", "at": T0}]
    items = [
        {
            "id": 1,
            "title": "t",
            "owner": "bob",
            "due": T0.date(),
            "kind": "prevention",
            "change": None,
            "created_by": "ann",
            "created_at": T0,
            "applied_version": None,
            "applied_at": None,
            "applied_by": None,
        }
    ]
    doc = document(s, entries, None, NAMES, edits, items, now=T0 + timedelta(hours=2))

    assert json.loads(render.json(doc)) == json.loads(Postmortem.model_validate(doc).model_dump_json(by_alias=True))
    published = json.loads(render.json(doc))  # how a published report is kept, and read back
    assert render.markdown(doc) == render.markdown(published) and render.html(doc) == render.html(published)

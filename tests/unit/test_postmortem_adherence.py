"""R14 in the post-mortem: every deadline of the process, met, late by how much, or missed — computed
from the events, the pinned process version and the paged people's hours (R11), with the timers'
firings counted as reminders; what was never owed is "not due" or "not done", not missed."""

from datetime import UTC, datetime, timedelta

from services.postmortem.adherence import evaluate
from services.postmortem.domain import fold
from services.postmortem.timeline import Entry

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PROCESS = {
    "levels": [
        {
            "level": 1,
            "checklist": [
                {"id": "announce", "title": "Announce", "due_within": "PT10M"},
                {"id": "call", "title": "Call", "due_within": "PT15M"},
                {"id": "over", "title": "Declare over", "due_within": None},
            ],
            "status_update_every": "PT1H",
            "public_update_every": "PT1H",
            "acknowledge_within": "PT5M",
        },
        {
            "level": 2,
            "immediacy": "waking_hours",
            "checklist": [
                {"id": "announce", "title": "Announce", "due_within": "PT20M"},
                {"id": "ticket", "title": "Ticket", "due_within": "PT30M"},
            ],
            "status_update_every": "PT2H",
            "public_update_every": None,
            "acknowledge_within": "PT15M",
        },
    ],
    "manager_shift_limit": "PT8H",
    "handover_warning_after": "PT7H",
}
DECLARED = {
    "title": "t",
    "description": "d",
    "aspect": "billing",
    "severity": 2,
    "manager": "ann",
    "smes": ["ann", "bob"],
    "declared_by": "dan",
    "process_version": 1,
    "paged": "ann",
}


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


class AdherenceScript:
    def __init__(self, **declared):
        self.entries = [Entry("inc-1", T0, "e1", 1, "warroom.incident.declared.v1", "dan", {**DECLARED, **declared})]
        self.timers: list[Entry] = []

    def add(self, kind: str, at: float, **data) -> "AdherenceScript":
        n = len(self.entries) + 1
        self.entries.append(Entry("inc-1", minutes(at), f"e{n}", n, f"warroom.incident.{kind}.v1", None, data))
        return self

    def timer(self, kind: str, at: float, person: str | None = None, **detail) -> "AdherenceScript":
        self.timers.append(
            Entry(
                "inc-1",
                minutes(at),
                f"t{len(self.timers)}",
                1,
                f"warroom.timer.{kind}.v1",
                person,
                {"kind": kind, "person": person, "due_at": minutes(at).isoformat(), "detail": detail},
            )
        )
        return self

    def adherence(
        self, now: float = 24 * 60, kinds: tuple[str, ...] = (), process: dict = PROCESS, hours: dict | None = None
    ) -> list[tuple]:
        items = evaluate(fold(self.entries), process, self.timers, minutes(now), lambda p: p or "nobody", hours)
        return [
            (i.kind, i.level, i.what, i.person, i.outcome, i.late_by, i.reminders)
            for i in items
            if not kinds or i.kind in kinds
        ]


def test_r14_checklist_steps_are_met_late_or_missed_against_the_deadline_of_each_level_visited():
    script = (
        AdherenceScript()
        .add("checklist_step_completed", 25, step="announce", level=2, by="ann")
        .timer("checklist_step_due", 20, step="announce", level=2)
        .add("severity_changed", 40, previous=2, severity=1, reason="worse", by="ann")
        .add("checklist_step_completed", 50, step="call", level=1, by="ann")
        .add("resolved", 120, resolution="r", test_plan="t", by="ann")
    )

    assert script.adherence(kinds=("checklist",)) == [
        ("checklist", 2, "Announce", "ann", "late", 300.0, 1),
        ("checklist", 2, "Ticket", None, "missed", 600.0, 0),  # due 09:30, the level changed at 09:40
        ("checklist", 1, "Announce", "ann", "met", None, 0),  # done at level 2 already
        ("checklist", 1, "Call", "ann", "met", None, 0),
        ("checklist", 1, "Declare over", None, "not_done", None, 0),  # no deadline: nothing was owed
    ]


def test_r14_a_step_not_yet_due_when_the_level_changed_was_not_due_and_an_open_incident_is_pending():
    script = AdherenceScript().add("severity_changed", 10, previous=2, severity=1, reason="worse", by="ann")

    assert script.adherence(now=12, kinds=("checklist",)) == [
        ("checklist", 2, "Announce", None, "not_due", None, 0),
        ("checklist", 2, "Ticket", None, "not_due", None, 0),
        ("checklist", 1, "Announce", None, "pending", None, 0),
        ("checklist", 1, "Call", None, "pending", None, 0),
        ("checklist", 1, "Declare over", None, "pending", None, 0),
    ]
    overdue = script.adherence(now=30, kinds=("checklist",))[2]
    assert overdue[4:6] == ("missed", 600.0)  # still open: missed so far, by this much


def test_r11_acknowledgements_met_late_and_escalated_with_the_reminders_that_fired():
    on_time = AdherenceScript().add("acknowledged", 3, person="ann")
    assert on_time.adherence(kinds=("acknowledgement",)) == [
        ("acknowledgement", 2, "Acknowledge the page", "ann", "met", None, 0)
    ]

    escalated = (
        AdherenceScript()
        .timer("ack_due", 15, "ann", level=2)
        .add("manager_changed", 15, previous="ann", manager="bob", how="escalated", by="warroom")
        .add("severity_changed", 16, previous=2, severity=1, reason="worse", by="bob")
        .add("acknowledged", 20, person="bob")
    )
    assert escalated.adherence(kinds=("acknowledgement",)) == [
        ("acknowledgement", 2, "Acknowledge the page", "ann", "missed", None, 1),
        ("acknowledgement", 2, "Acknowledge the page", "bob", "met", None, 0),
    ]

    unanswered = (
        AdherenceScript().add("page_unanswered", 15, paged="ann", timer_id="t").add("acknowledged", 40, person="ann")
    )
    assert unanswered.adherence(kinds=("acknowledgement",)) == [
        ("acknowledgement", 2, "Acknowledge the page", "ann", "late", 25 * 60.0, 0)
    ]


def test_r06_status_updates_fall_due_per_worker_from_joining_asking_or_their_last_update():
    script = (
        AdherenceScript()
        .add("worker_added", 0, person="cat", by="ann")
        .add("severity_changed", 30, previous=2, severity=1, reason="worse", by="ann")  # every 1 h from now
        .add("status_updated", 50, worker="cat")  # due 10:00: met
        .add("status_updated", 170, worker="cat")  # due 10:50: an hour late
        .timer("status_update_due", 110, "cat")
        .timer("status_update_due", 170, "cat")
        .add("status_requested", 240, by="ann", workers=["cat"])  # due 12:50, asked at 13:00: missed
        .add("worker_removed", 320, person="cat", by="ann")  # due 14:00, released at 14:20: missed
        .add("resolved", 330, resolution="r", test_plan="t", by="ann")
    )

    assert script.adherence(kinds=("status_update",)) == [
        ("status_update", 1, "Status update", "cat", "met", None, 0),
        ("status_update", 1, "Status update", "cat", "late", 60 * 60.0, 2),
        ("status_update", 1, "Status update", "cat", "missed", 10 * 60.0, 0),
        ("status_update", 1, "Status update", "cat", "missed", 20 * 60.0, 0),
    ]


def test_r08_public_updates_fall_due_only_at_levels_with_that_cadence():
    script = (
        AdherenceScript(severity=1)
        .add("pr_manager_assigned", 5, person="pia", by="ann")
        .add("public_update_posted", 50, message="m", by="pia")  # due 10:00: met
        .add("severity_changed", 60, previous=1, severity=2, reason="better", by="ann")  # no cadence at 2
        .add("resolved", 300, resolution="r", test_plan="t", by="ann")
    )

    assert script.adherence(kinds=("public_update",)) == [("public_update", 1, "Public update", "pia", "met", None, 0)]


def test_r05_handover_warnings_and_a_breach_late_by_the_time_managed_past_the_limit():
    script = (
        AdherenceScript()
        .timer("handover_warning", 7 * 60, "ann")
        .add("shift_limit_breached", 8 * 60, manager="ann", tenure_started_at=T0.isoformat(), limit="PT8H")
        .add("manager_changed", 8 * 60 + 30, previous="ann", manager="bob", how="accepted", by="bob")
    )

    assert script.adherence(kinds=("handover_warning", "shift_limit")) == [
        ("handover_warning", 2, "Handover warning", "ann", "warning", None, 0),
        ("shift_limit", 2, "Hand over before the shift limit", "ann", "late", 30 * 60.0, 0),
    ]


def test_r19_r10_freshness_warnings_and_a_coverage_gap_are_in_the_adherence_table():
    script = (
        AdherenceScript(coverage_gap=True)
        .add("worker_added", 5, person="cat", by="ann", fresh=False, worked_seconds_last_24h=13 * 3600)
        .timer("worker_fresh", 60, "eve")
        .add("worker_removed", 90, person="cat", by="ann")
    )

    items = evaluate(fold(script.entries), PROCESS, script.timers, minutes(100), lambda p: p)
    gap, *fresh = [i for i in items if i.kind in ("coverage_gap", "worker_freshness")]
    assert (gap.rule, gap.outcome) == ("R10", "warning") and "billing" in gap.note
    assert [(i.rule, i.person, i.outcome) for i in fresh] == [("R19", "cat", "warning"), ("R19", "eve", "warning")]
    assert fresh[0].note == "added although already 13 h on incidents in the last 24 hours; released 1 h 25 min later"


def test_without_its_process_version_the_incident_still_lists_what_the_events_say():
    items = evaluate(fold(AdherenceScript().add("acknowledged", 3, person="ann").entries), None, [], minutes(10), str)

    assert [(i.kind, i.outcome, i.due_at) for i in items] == [("acknowledgement", "met", None)]


# A person in Chicago: 09:00 UTC on a January Monday is 03:00 there, their waking hours begin at 13:00 UTC.
CHICAGO = {"timezone": "America/Chicago", "working_hours": None, "waking_hours": {"start": "07:00", "end": "22:00"}}


def test_r11_a_level_2_page_at_night_is_due_fifteen_minutes_after_the_paged_persons_waking_hours_begin():
    script = AdherenceScript().add("acknowledged", 4 * 60 + 5, person="ann")  # 07:05 in Chicago

    row = evaluate(fold(script.entries), PROCESS, [], minutes(5 * 60), str, {"ann": CHICAGO})[0]

    assert (row.kind, row.outcome, row.late_by) == ("acknowledgement", "met", None)
    assert row.due_at == minutes(4 * 60 + 15)  # 07:15 in Chicago, not 03:15
    # A level-1 page wakes whoever it takes: due five minutes after the paging, whatever the hour.
    level_1 = AdherenceScript(severity=1).add("acknowledged", 4 * 60 + 5, person="ann")
    assert level_1.adherence(kinds=("acknowledgement",), hours={"ann": CHICAGO})[0][4:6] == ("late", (4 * 60) * 60.0)


def test_r14_a_one_minute_incident_owes_nothing_that_fell_due_after_its_resolution():
    script = (
        AdherenceScript(severity=1)
        .add("acknowledged", 0.2, person="ann")
        .add("pr_manager_assigned", 0.3, person="pia", by="ann")
        .add("worker_added", 0.4, person="cat", by="ann")
        .add("resolved", 1, resolution="r", test_plan="t", by="ann")
    )

    rows = script.adherence()

    assert [row for row in rows if row[4] in ("missed", "late")] == []
    assert [(r[0], r[2], r[4]) for r in rows] == [
        ("acknowledgement", "Acknowledge the page", "met"),
        ("checklist", "Announce", "not_due"),
        ("checklist", "Call", "not_due"),
        ("checklist", "Declare over", "not_done"),
        ("status_update", "Status update", "not_due"),
        ("public_update", "Public update", "not_due"),
    ]
    item = evaluate(fold(script.entries), PROCESS, [], minutes(60), str)[1]
    assert item.note == "due after the resolution"


def test_r11_a_page_whose_deadline_falls_after_the_resolution_was_not_due():
    script = AdherenceScript().add("resolved", 5, resolution="r", test_plan="t", by="ann")  # level 2: due after 15 min

    assert script.adherence(kinds=("acknowledgement",)) == [
        ("acknowledgement", 2, "Acknowledge the page", "ann", "not_due", None, 0)
    ]


SYSTEM_PROCESS = {
    "levels": [
        {
            "level": 1,
            "checklist": [
                {"id": "declare-over", "title": "Declare the incident over", "due_within": None},
                {"id": "start-postmortem", "title": "Start the post-mortem", "due_within": None},
            ],
            "status_update_every": "PT1H",
            "acknowledge_within": "PT5M",
        },
        {
            "level": 2,
            "checklist": [
                {"id": "declare-over", "title": "Declare the incident over", "due_within": "PT30M"},
                {"id": "start-postmortem", "title": "Start the post-mortem", "due_within": "PT1M"},
            ],
            "status_update_every": "PT1H",
            "acknowledge_within": "PT15M",
        },
    ]
}


def test_r14_the_system_declares_the_incident_over_by_resolving_it_and_starts_the_post_mortem_by_its_draft():
    script = AdherenceScript(severity=1).add("resolved", 20, resolution="r", test_plan="t", by="bob")

    items = evaluate(fold(script.entries), SYSTEM_PROCESS, [], minutes(60), str)
    steps = [(i.what, i.outcome, i.person, i.done_at, i.note) for i in items if i.kind == "checklist"]

    assert steps == [
        ("Declare the incident over", "met", "bob", minutes(20), "done by resolving the incident"),
        ("Start the post-mortem", "met", None, T0, "done by the system: the draft exists from the declaration on"),
    ]


def test_r14_a_reopened_incident_is_no_longer_declared_over_and_a_late_resolution_is_late():
    script = (
        AdherenceScript()
        .add("resolved", 10, resolution="r", test_plan="t", by="ann")
        .add("reopened", 20, reason="back", by="ann")
    )
    assert script.adherence(now=25, kinds=("checklist",), process=SYSTEM_PROCESS) == [
        ("checklist", 2, "Declare the incident over", None, "pending", None, 0),
        ("checklist", 2, "Start the post-mortem", None, "met", None, 0),
    ]

    script.add("resolved", 40, resolution="r", test_plan="t", by="ann")
    assert script.adherence(kinds=("checklist",), process=SYSTEM_PROCESS)[0] == (
        "checklist",
        2,
        "Declare the incident over",
        "ann",
        "late",
        600.0,
        0,
    )

"""Policy back-testing, pure: hand-built histories judged under the version they ran with and under a
proposal, with outcomes computed by hand (a stricter shift limit, a shorter status cadence, a level
switched to waking hours, a new checklist step with a deadline), and the proposal validated as
PUT /v1/process validates a document."""

import asyncio
import copy
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.postmortem.backtest import Judged, judge, summary
from services.postmortem.backtests import beside_report
from services.postmortem.domain import Story, fold
from services.postmortem.proposals import ProposedProcess, Unfit, proposed
from services.postmortem.replay import replay, replay_both
from services.postmortem.time_on_incidents import StretchIndex, TimeOnIncidents
from services.postmortem.timeline import Entry
from shared.process.document import merge_patch
from shared.process.rules import Rules
from shared.process.timing import Stretch

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
LEVEL = {
    "level": 1,
    "name": "Critical",
    "description": "d",
    "immediacy": "any_hour",
    "communications": "",
    "checklist": [{"id": "announce", "title": "Announce", "due_within": "PT10M"}],
    "status_update_every": "PT1H",
    "public_update_every": None,
    "acknowledge_within": "PT5M",
}
PROCESS = {
    "levels": [LEVEL],
    "manager_shift_limit": "PT8H",
    "handover_warning_after": "PT7H",
    "manager_min_break": "PT1H",
    "worker_fresh_for": "PT12H",
    "catch_all_sme": "rita",
}
NAMES = {"ann": "Ann Archer", "bob": "Bob Baker", "cat": "Cat Cole"}


def minutes(n: float, start: datetime = T0) -> datetime:
    return start + timedelta(minutes=n)


class History:
    """One incident's events, as the incident service publishes them, ``n`` minutes after ``start``; the
    manager announces it (the level's one step) 5 minutes in."""

    def __init__(self, incident: str = "inc-1", start: datetime = T0, manager: str = "ann"):
        self.incident, self.start = incident, start
        declared = {
            "title": f"Incident {incident}",
            "description": "d",
            "aspect": "billing",
            "severity": 1,
            "manager": manager,
            "smes": [manager],
            "declared_by": "dan",
            "process_version": 1,
            "paged": manager,
        }
        self.entries = [Entry(incident, start, f"{incident}-1", 1, "warroom.incident.declared.v1", "dan", declared)]
        self.add("checklist_step_completed", 5, step="announce", level=1, by=manager)

    def add(self, kind: str, at: float, **data) -> "History":
        n = len(self.entries) + 1
        entry = Entry(
            self.incident, minutes(at, self.start), f"{self.incident}-{n}", n, f"warroom.incident.{kind}.v1", None, data
        )
        self.entries.append(entry)
        return self

    def resolved(self, at: float) -> "History":
        return self.add("resolved", at, resolution="r", test_plan="t", by="ann")

    def story(self) -> Story:
        found = fold(self.entries)
        assert found is not None
        return found


def back_test(histories: list[History], change: dict, hours: dict | None = None, now: datetime | None = None):
    stories = [h.story() for h in histories]
    proposal = ProposedProcess.model_validate(merge_patch(PROCESS, change)).document()
    time_on, now = TimeOnIncidents(stories), now or minutes(24 * 60)
    judged = []
    for story in stories:
        before = replay(story, Rules.of(PROCESS), hours or {}, time_on, now)
        after = replay(story, Rules.of(proposal), hours or {}, time_on, now)
        # What the service runs: the parts both read alike computed once, with the same outcome.
        assert replay_both(story, Rules.of(PROCESS), Rules.of(proposal), hours or {}, time_on, now) == (before, after)
        judged.append(judge(story, before, after, lambda p: NAMES.get(p or "", p or "nobody")))
    return judged, summary(judged, [Rules.of(proposal)])


def rows(judged: Judged, side: str, kind: str) -> list[tuple]:
    return [(r.person, r.outcome, r.due_at, r.late_by) for r in getattr(judged, side).rows if r.kind == kind]


def test_r05_a_stricter_shift_limit_warns_and_breaches_a_manager_who_handed_over_after_six_and_a_half_hours():
    long = History("long").add("acknowledged", 2, person="ann").resolved(6 * 60 + 30)
    judged, total = back_test([long], {"manager_shift_limit": "PT6H", "handover_warning_after": "PT5H"})

    (incident,) = judged
    assert rows(incident, "before", "shift_limit") == [] and rows(incident, "before", "handover_warning") == []
    assert rows(incident, "after", "handover_warning") == [("ann", "warning", None, None)]
    assert rows(incident, "after", "shift_limit") == [("ann", "late", minutes(6 * 60), 30 * 60.0)]
    assert [(d.kind, d.item) for d in incident.differences] == [
        ("handover_warning", "Handover warnings to Ann Archer"),
        ("shift_limit", "The shift limit of Ann Archer"),
    ]
    assert incident.differences[1].text == (
        "The shift limit of Ann Archer: none under version 1; "
        "breached at 2026-01-05 15:00 UTC: handed over 30 min after it under the proposal."
    )
    assert (total["deviations_before"], total["deviations_after"]) == (0, 2)


def test_r05_the_summary_counts_incidents_that_would_have_breached_and_tenure_runs_across_incidents():
    short = History("short", start=minutes(24 * 60)).add("acknowledged", 2, person="ann").resolved(4 * 60)
    # Ann managed "first" for 4 h, took a 30-minute break (under the 1 h that restarts a tenure), then
    # managed "second" for 2 h 30: her tenure on "second" began with "first", so 6 h are reached on it.
    first = History("first").add("acknowledged", 1, person="ann").resolved(4 * 60)
    second = History("second", start=minutes(4 * 60 + 30)).add("acknowledged", 1, person="ann").resolved(150)
    judged, total = back_test([short, first, second], {"manager_shift_limit": "PT6H", "handover_warning_after": "PT5H"})

    assert [bool(rows(j, "after", "shift_limit")) for j in judged] == [False, False, True]
    assert rows(judged[2], "after", "shift_limit") == [("ann", "late", minutes(6 * 60), 60 * 60.0)]
    shift = next(k for k in total["kinds"] if k["kind"] == "shift_limit")
    assert shift["text"] == (
        "1 of 3 incidents would have breached the 6-hour shift limit, against 0 under the versions they ran with."
    )
    assert total["text"][0] == "1 of 3 incidents would have been judged differently: 2 deviations instead of 0."


def test_r06_a_shorter_status_cadence_makes_three_updates_each_half_an_hour_late():
    history = (
        History()
        .add("acknowledged", 2, person="ann")
        .add("worker_added", 10, person="cat", by="ann")
        .add("status_updated", 70, worker="cat")
        .add("status_updated", 130, worker="cat")
        .add("status_updated", 190, worker="cat")
        .resolved(200)
    )
    judged, total = back_test([history], {"levels": [{**LEVEL, "status_update_every": "PT30M"}]})

    (incident,) = judged
    assert [o for _, o, _, _ in rows(incident, "before", "status_update")] == ["met", "met", "met", "not_due"]
    assert rows(incident, "after", "status_update") == [
        ("cat", "late", minutes(40), 30 * 60.0),
        ("cat", "late", minutes(100), 30 * 60.0),
        ("cat", "late", minutes(160), 30 * 60.0),
        ("cat", "not_due", minutes(220), None),
    ]
    (difference,) = incident.differences
    assert (difference.kind, difference.before.deviations, difference.after.deviations) == ("status_update", 0, 3)
    assert difference.text == (
        "Status updates owed by Cat Cole: 0 of 4 late or missed under version 1; "
        "3 of 4 late or missed under the proposal."
    )
    assert total["text"][1] == (
        "3 status updates would have been late or missed under a 30-minute cadence, "
        "against 0 under the versions they ran with."
    )


def test_r11_a_level_switched_to_waking_hours_holds_a_night_page_until_seven_so_its_late_answer_is_on_time():
    night = minutes(-6 * 60)  # 03:00 UTC, Monday
    history = History(start=night).add("acknowledged", 20, person="ann").resolved(5 * 60)
    hours = {"ann": {"timezone": "UTC", "working_hours": None, "waking_hours": {"start": "07:00", "end": "22:00"}}}
    judged, total = back_test([history], {"levels": [{**LEVEL, "immediacy": "waking_hours"}]}, hours)

    (incident,) = judged
    was, would = incident.before.pages[0], incident.after.pages[0]
    assert (was.released_at, was.due_at, was.acknowledgement.outcome, was.escalated) == (
        night,
        minutes(5, night),
        "late",
        True,
    )
    assert was.acknowledgement.late_by == 15 * 60.0
    assert (would.released_at, would.due_at, would.acknowledgement.outcome, would.escalated) == (
        minutes(4 * 60, night),
        minutes(4 * 60 + 5, night),
        "met",
        False,
    )
    assert [(d.kind, d.before.said, d.after.said) for d in incident.differences] == [
        ("page", "sent at once", "held until 2026-01-05 07:00 UTC by the level's immediacy, in their hours"),
        ("acknowledgement", "late by 15 min, so it escalated", "acknowledged in time"),
    ]
    assert (total["deviations_before"], total["deviations_after"], total["pages_moved"]) == (2, 0, 1)


def test_r14_a_new_checklist_step_with_a_deadline_nobody_knew_of_is_missed_by_the_time_to_resolution():
    history = History().add("acknowledged", 2, person="ann").resolved(60)
    step = {"id": "status-page", "title": "Update the status page", "due_within": "PT20M"}
    judged, total = back_test([history], {"levels": [{**LEVEL, "checklist": [*LEVEL["checklist"], step]}]})

    (incident,) = judged
    assert rows(incident, "after", "checklist") == [
        ("ann", "met", minutes(10), None),
        (None, "missed", minutes(20), 40 * 60.0),
    ]
    (difference,) = incident.differences
    assert (difference.item, difference.before.said, difference.after.said) == (
        "Checklist step “Update the status page” at level 1",
        "not part of the process",
        "missed (overdue by 40 min)",
    )
    assert total["text"][1] == (
        "1 checklist step would have been late or missed, against 0 under the versions they ran with."
    )


def test_r19_a_lower_freshness_limit_warns_about_a_worker_who_worked_longer_than_it():
    history = History().add("acknowledged", 2, person="ann").add("worker_added", 10, person="cat", by="ann")
    history.resolved(10 * 60)
    judged, _ = back_test([history], {"worker_fresh_for": "PT8H"})

    (incident,) = judged
    assert rows(incident, "before", "worker_freshness") == []
    assert [(p, o) for p, o, _, _ in rows(incident, "after", "worker_freshness")] == [("cat", "warning")]
    assert incident.after.rows[-1].done_at == minutes(8 * 60 + 10)


def test_r17_a_process_back_tested_against_itself_reports_no_difference_and_says_so():
    history = History().add("worker_added", 10, person="cat", by="ann").add("status_updated", 200, worker="cat")
    judged, total = back_test([history.resolved(9 * 60)], {})

    assert judged[0].differences == ()
    assert total["deviations_before"] == total["deviations_after"] > 0
    assert total["text"] == [
        f"None of the 1 incident would have been judged differently ({total['deviations_before']} deviations "
        "either way)."
    ]


def test_r09_a_change_that_does_not_fit_a_version_is_refused_and_warnings_are_those_of_put_process():
    versions = {1: PROCESS, 2: {**PROCESS, "catch_all_sme": None}}
    with pytest.raises(Unfit) as unfit:
        proposed(versions, {"handover_warning_after": "PT9H"}, None)
    assert unfit.value.version == 1
    assert "handover_warning_after must come before manager_shift_limit" in unfit.value.errors[0]["msg"]

    fits = proposed(versions, {"manager_shift_limit": "PT6H", "handover_warning_after": "PT5H"}, None)
    assert fits.documents[2]["manager_shift_limit"] == "PT6H" and fits.documents[2]["catch_all_sme"] is None
    assert fits.warnings == ["catch_all_sme is empty: declaring for an aspect without SMEs will be refused (R10)"]

    whole = ProposedProcess.model_validate({**copy.deepcopy(PROCESS), "version": 3, "warnings": ["old"]})
    assert proposed(versions, None, whole).documents == {1: whole.document(), 2: whole.document()}


@given(
    st.lists(st.tuples(st.integers(0, 500), st.none() | st.integers(0, 300)), max_size=12),
    st.integers(0, 900),
    st.integers(0, 600),
)
def test_r05_r19_the_stretches_reaching_a_moment_are_those_a_plain_search_finds(spans, at, back):
    stretches = [
        Stretch(minutes(start), None if length is None else minutes(start + length)) for start, length in spans
    ]
    since = minutes(at - back)
    plain = [s for s in stretches if s.start <= minutes(at) and (s.end is None or s.end > since)]
    found = StretchIndex(stretches).reaching(minutes(at), since)
    assert sorted(found, key=lambda s: (s.start, s.end or T0)) == sorted(plain, key=lambda s: (s.start, s.end or T0))


def test_r16_a_published_report_is_frozen_so_nothing_is_back_tested_beside_its_refinements():
    refinement = {"id": 1, "kind": "process_refinement", "applied_version": None, "change": {}}
    published = {"state": "published", "action_items": [refinement]}
    # Nothing is read either: no database is given.
    assert asyncio.run(beside_report(None, published, minutes(0))) == {}

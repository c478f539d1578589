"""The timers' pure rules: which timers a manager change plans and cancels, and what resolving cancels."""
from datetime import datetime, timedelta, timezone

from services.timers import domain

AT = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
LIMITS = domain.TenureLimits(handover_warning_after=timedelta(hours=7), manager_shift_limit=timedelta(hours=8))


def by_kind(plan: domain.Plan) -> dict[str, domain.Timer]:
    return {timer.kind: timer for timer in plan.schedule}


def test_r05_declaration_plans_the_managers_handover_warning_and_shift_limit():
    plan = domain.plan_manager_change(domain.ManagerChange("ev-1", "inc-1", AT, "alice"), LIMITS)

    timers = by_kind(plan)
    assert set(timers) == {"handover_warning", "shift_limit"}
    assert timers["handover_warning"].due_at == AT + timedelta(hours=7)
    assert timers["shift_limit"].due_at == AT + timedelta(hours=8)
    assert {t.person for t in plan.schedule} == {"alice"}
    assert {t.incident_id for t in plan.schedule} == {"inc-1"}
    assert plan.cancel == ()


def test_r05_a_new_manager_ends_the_previous_managers_tenure_timers_and_starts_their_own():
    later = AT + timedelta(hours=3)
    plan = domain.plan_manager_change(domain.ManagerChange("ev-5", "inc-1", later, "bob", previous="alice"), LIMITS)

    assert plan.cancel == (domain.Cancel("inc-1", kinds=frozenset({"handover_warning", "shift_limit"}),
                                         person="alice"),)
    timers = by_kind(plan)
    assert timers["handover_warning"].due_at == later + timedelta(hours=7)
    assert timers["shift_limit"].due_at == later + timedelta(hours=8)
    assert {t.person for t in plan.schedule} == {"bob"}


def test_f4_the_same_event_always_plans_the_same_timer_ids():
    change = domain.ManagerChange("ev-1", "inc-1", AT, "alice")

    first, again = domain.plan_manager_change(change, LIMITS), domain.plan_manager_change(change, LIMITS)

    assert [t.id for t in first.schedule] == [t.id for t in again.schedule]
    assert len({t.id for t in first.schedule}) == 2


def test_timers_of_different_events_have_different_ids():
    one = domain.plan_manager_change(domain.ManagerChange("ev-1", "inc-1", AT, "alice"), LIMITS)
    other = domain.plan_manager_change(domain.ManagerChange("ev-2", "inc-1", AT, "alice"), LIMITS)

    assert not {t.id for t in one.schedule} & {t.id for t in other.schedule}


def test_r15_resolving_cancels_every_pending_timer_of_the_incident_whoever_it_is_for():
    plan = domain.plan_resolution("inc-1")

    assert plan.schedule == ()
    assert plan.cancel == (domain.Cancel("inc-1", kinds=None, person=None),)

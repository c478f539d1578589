"""The timers' pure rules, driven by a fake clock: which timers each fact plans and which it cancels."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.timers import domain
from shared.clock import FakeClock
from shared.process import timing
from shared.process.rules import Level, Rules, Step
from shared.process.timing import Stretch

H, M = timedelta(hours=1), timedelta(minutes=1)
LEVEL_1 = Level(
    1,
    acknowledge_within=5 * M,
    status_update_every=H,
    public_update_every=H,
    checklist=(Step("announce", due_within=15 * M), Step("call", due_within=30 * M), Step("test-plan")),
)
LEVEL_2 = Level(2, immediacy="waking_hours", acknowledge_within=15 * M, status_update_every=2 * H)
LEVEL_3 = Level(
    3,
    immediacy="next_business_day",
    acknowledge_within=24 * H,
    status_update_every=4 * H,
    public_update_every=None,
    checklist=(Step("ticket", due_within=2 * H),),
)
RULES = Rules(
    {1: LEVEL_1, 2: LEVEL_2, 3: LEVEL_3},
    handover_warning_after=7 * H,
    manager_shift_limit=8 * H,
    manager_min_break=H,
    worker_fresh_for=12 * H,
)
BERLIN = ZoneInfo("Europe/Berlin")
# An SME in Berlin who gave no waking hours (so 07:00-22:00) and works 09:00-17:00 on weekdays.
SAM = {
    "timezone": "Europe/Berlin",
    "working_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]},
    "waking_hours": None,
}


def by_kind(plan: domain.Plan) -> dict[str, domain.Timer]:
    return {timer.kind: timer for timer in plan.schedule}


class PersonStretches:
    """One person's stretches on incidents, kept with a fake clock as a test tells the story."""

    def __init__(self, clock: FakeClock):
        self.clock, self.stretches, self.open = clock, [], {}

    def start(self, incident: str) -> None:
        self.open[incident] = self.clock.now()

    def stop(self, incident: str) -> None:
        self.stretches.append(Stretch(self.open.pop(incident), self.clock.now()))

    def all(self) -> list[Stretch]:
        return self.stretches + [Stretch(start) for start in self.open.values()]

    def tenure(self, incident: str) -> dict[str, domain.Timer]:
        return by_kind(domain.plan_tenure(incident, "alice", self.open[incident], self.all(), RULES))


# --- R05: tenure across incidents ---


def test_r05_a_new_manager_gets_a_handover_warning_and_a_shift_limit_counted_from_taking_over():
    clock = FakeClock()
    alice = PersonStretches(clock)
    alice.start("inc-1")

    timers = alice.tenure("inc-1")

    assert timers["handover_warning"].due_at == clock.now() + 7 * H
    assert timers["shift_limit"].due_at == clock.now() + 8 * H
    assert {(t.person, t.incident_id) for t in timers.values()} == {("alice", "inc-1")}
    assert timers["shift_limit"].detail == {"tenure_started_at": clock.now().isoformat()}


def test_r05_managing_two_incidents_back_to_back_keeps_one_tenure():
    clock = FakeClock()
    began = clock.now()
    alice = PersonStretches(clock)
    alice.start("inc-1")
    clock.advance(3 * H)
    alice.start("inc-2")  # overlapping
    clock.advance(H)
    alice.stop("inc-1")

    timers = alice.tenure("inc-2")

    assert timers["handover_warning"].due_at == began + 7 * H
    assert timers["shift_limit"].due_at == began + 8 * H


def test_r05_taking_a_role_back_within_the_minimum_break_continues_the_old_tenure():
    clock = FakeClock()
    began = clock.now()
    alice = PersonStretches(clock)
    alice.start("inc-1")
    clock.advance(2 * H)
    alice.stop("inc-1")
    clock.advance(59 * M)  # one minute short of the break
    alice.start("inc-2")

    assert alice.tenure("inc-2")["shift_limit"].due_at == began + 8 * H


def test_r05_a_break_of_the_minimum_length_starts_a_new_tenure():
    clock = FakeClock()
    alice = PersonStretches(clock)
    alice.start("inc-1")
    clock.advance(2 * H)
    alice.stop("inc-1")
    clock.advance(H)
    alice.start("inc-2")

    assert alice.tenure("inc-2")["shift_limit"].due_at == clock.now() + 8 * H


def test_r05_an_incident_taken_on_late_in_a_tenure_is_warned_at_once_never_before_it_was_taken_on():
    clock = FakeClock()
    began = clock.now()
    alice = PersonStretches(clock)
    alice.start("inc-1")
    clock.advance(7 * H + 30 * M)
    alice.start("inc-2")

    timers = alice.tenure("inc-2")

    assert timers["handover_warning"].due_at == clock.now()
    assert timers["shift_limit"].due_at == began + 8 * H


def test_r05_tenure_ends_when_the_person_manages_nothing_and_their_timers_are_cancelled():
    plan = domain.plan_tenure("inc-1", "alice", None, (), RULES)

    assert plan.schedule == ()
    assert plan.cancel == (domain.Cancel("inc-1", kinds=domain.TENURE_KINDS, person="alice"),)


def test_r05_replanning_an_unchanged_tenure_keeps_its_timers():
    clock = FakeClock()
    alice = PersonStretches(clock)
    alice.start("inc-1")

    first = domain.plan_tenure("inc-1", "alice", alice.open["inc-1"], alice.all(), RULES)
    clock.advance(H)
    again = domain.plan_tenure("inc-1", "alice", alice.open["inc-1"], alice.all(), RULES)

    assert [t.id for t in first.schedule] == [t.id for t in again.schedule]
    assert again.cancel[0].keep == frozenset(t.id for t in first.schedule)


# --- R11: acknowledgement ---


def page_due(level: Level, at: datetime, hours: dict | None = SAM) -> datetime:
    [timer] = domain.plan_page("ev-1", "inc-1", "sam", at, level, hours).schedule
    assert (timer.kind, timer.person, timer.detail) == ("ack_due", "sam", {"level": level.number})
    return timer.due_at


def test_r11_a_page_must_be_acknowledged_within_the_levels_acknowledge_within():
    clock = FakeClock()

    plan = domain.plan_page("ev-1", "inc-1", "sam", clock.now(), LEVEL_1, SAM)

    [timer] = plan.schedule
    assert (timer.kind, timer.person, timer.due_at) == ("ack_due", "sam", clock.now() + 5 * M)
    assert plan.cancel == (domain.Cancel("inc-1", kinds=frozenset({"ack_due"})),)  # an escalation replaces the page


def test_r11_an_any_hour_page_in_the_middle_of_the_night_is_due_acknowledge_within_after_it_is_sent():
    night = datetime(2026, 1, 7, 3, 0, tzinfo=BERLIN)

    assert page_due(LEVEL_1, night) == night + 5 * M


def test_r11_a_waking_hours_page_at_three_in_the_morning_is_due_fifteen_minutes_after_waking_hours_begin():
    night = datetime(2026, 1, 7, 3, 0, tzinfo=BERLIN)

    due = page_due(LEVEL_2, night)

    assert due == datetime(2026, 1, 7, 7, 15, tzinfo=BERLIN) == timing.ack_due_at(SAM, LEVEL_2, night)
    assert due != night + 15 * M


def test_r11_a_waking_hours_page_while_the_person_is_awake_is_due_acknowledge_within_after_it_is_sent():
    evening = datetime(2026, 1, 7, 21, 0, tzinfo=BERLIN)

    assert page_due(LEVEL_2, evening) == evening + 15 * M


def test_r11_the_persons_own_waking_hours_and_timezone_decide_when_a_night_page_is_let_out():
    lark = {**SAM, "timezone": "America/New_York", "waking_hours": {"start": "05:30", "end": "21:00"}}
    night = datetime(2026, 1, 7, 2, 0, tzinfo=ZoneInfo("America/New_York"))

    assert page_due(LEVEL_2, night, lark) == datetime(2026, 1, 7, 5, 45, tzinfo=ZoneInfo("America/New_York"))


def test_r11_a_next_business_day_page_on_a_friday_evening_is_due_a_day_after_monday_mornings_start():
    friday_evening = datetime(2026, 1, 9, 18, 0, tzinfo=BERLIN)

    assert page_due(LEVEL_3, friday_evening) == datetime(2026, 1, 12, 9, 0, tzinfo=BERLIN) + 24 * H


def test_r11_a_page_to_someone_not_projected_is_due_from_when_it_was_sent():
    night = datetime(2026, 1, 7, 3, 0, tzinfo=BERLIN)

    assert page_due(LEVEL_2, night, hours=None) == night + 15 * M


def test_r11_the_acknowledgement_cancels_the_pending_page():
    assert domain.plan_page_ended("inc-1") == domain.Plan((domain.Cancel("inc-1", kinds=frozenset({"ack_due"})),))


# --- R06: status and public updates ---


def test_r06_a_workers_update_is_due_every_status_update_every_from_their_last_one():
    clock = FakeClock()
    since = clock.now()
    clock.advance(10 * M)

    [timer] = domain.plan_status_update("ev-7", "inc-1", "wes", since, LEVEL_1, clock.now()).schedule

    assert (timer.kind, timer.person, timer.due_at, timer.every) == ("status_update_due", "wes", since + H, H)
    following = timer.following()
    assert (following.due_at, following.kind, following.person) == (since + 2 * H, "status_update_due", "wes")
    assert following.id != timer.id and following.id == timer.following().id


def test_r06_a_public_update_is_due_only_where_the_level_has_that_cadence():
    clock = FakeClock()

    [public] = domain.plan_public_update("ev-1", "inc-1", clock.now(), LEVEL_1, clock.now()).schedule
    none = domain.plan_public_update("ev-1", "inc-1", clock.now(), LEVEL_3, clock.now())

    assert (public.kind, public.person, public.due_at) == ("public_update_due", None, clock.now() + H)
    assert none.schedule == () and none.cancel == (domain.Cancel("inc-1", kinds=frozenset({"public_update_due"})),)


def test_r07_the_observers_summary_is_due_every_status_update_every_from_the_declaration():
    clock = FakeClock()
    declared = clock.now()

    plan = domain.plan_observer_summary("ev-1", "inc-1", declared, LEVEL_1, declared)

    [timer] = plan.schedule
    assert (timer.kind, timer.person, timer.due_at, timer.every, timer.detail) == (
        "observer_summary_due",
        None,
        declared + H,
        H,
        {"level": 1},
    )
    assert timer.following().due_at == declared + 2 * H
    assert plan.cancel == (domain.Cancel("inc-1", kinds=frozenset({"observer_summary_due"})),)


def test_r13_after_a_level_change_the_observers_summary_follows_the_new_interval_never_before_the_change():
    clock = FakeClock()
    last = clock.now()  # the last summary
    clock.advance(30 * M)

    [slower] = domain.plan_observer_summary("ev-2", "inc-1", last, LEVEL_3, clock.now()).schedule
    clock.advance(3 * H)
    [faster] = domain.plan_observer_summary("ev-3", "inc-1", last, LEVEL_1, clock.now()).schedule

    assert (slower.due_at, slower.every, slower.detail) == (last + 4 * H, 4 * H, {"level": 3})
    assert (faster.due_at, faster.every, faster.detail) == (clock.now(), H, {"level": 1})  # overdue: at the change


def test_r07_a_level_without_a_status_cadence_has_no_observers_summary():
    plan = domain.plan_observer_summary("ev-1", "inc-1", FakeClock().now(), Level(4), FakeClock().now())

    assert plan.schedule == () and plan.cancel == (domain.Cancel("inc-1", kinds=frozenset({"observer_summary_due"})),)


def test_r13_a_faster_cadence_after_a_level_change_applies_from_the_change_never_retroactively():
    clock = FakeClock()
    since = clock.now()
    clock.advance(2 * H)  # under level 3 (every 4 h) the update is not due yet; under level 1 it is overdue

    [timer] = domain.plan_status_update("ev-9", "inc-1", "wes", since, LEVEL_1, clock.now()).schedule

    assert timer.due_at == clock.now()


# --- R14: checklist ---


def test_r14_each_step_with_a_deadline_is_due_that_long_after_the_level_began_unless_done_at_that_level():
    clock = FakeClock()

    plan = domain.plan_checklist("ev-1", "inc-1", LEVEL_1, clock.now(), done={"call"})

    [step] = plan.schedule
    assert (step.kind, step.due_at, step.detail) == (
        "checklist_step_due",
        clock.now() + 15 * M,
        {"step": "announce", "level": 1},
    )
    assert plan.cancel == (domain.Cancel("inc-1", kinds=frozenset({"checklist_step_due"})),)


def test_r14_completing_a_step_cancels_that_steps_deadline_only():
    assert domain.plan_step_done("inc-1", "announce").cancel == (
        domain.Cancel("inc-1", kinds=frozenset({"checklist_step_due"}), step="announce"),
    )


# --- R19: worker freshness ---


def test_r19_a_fresh_worker_is_tired_after_worker_fresh_for_of_continuous_work():
    clock = FakeClock()

    assert timing.tired_at([], clock.now(), 12 * H) == clock.now() + 12 * H


def test_r19_earlier_work_within_the_last_24_hours_counts_across_incidents():
    clock = FakeClock()
    start = clock.now()
    earlier = [Stretch(start, start + 5 * H)]  # on another incident
    clock.advance(10 * H)

    due = timing.tired_at(earlier, clock.now(), 12 * H)

    assert due == clock.now() + 7 * H
    assert timing.worked([*earlier, Stretch(clock.now())], due) == 12 * H


def test_r19_work_older_than_24_hours_drops_out_as_the_window_slides():
    clock = FakeClock()
    start = clock.now()
    earlier = [Stretch(start, start + 10 * H)]
    clock.advance(28 * H)
    # 6 h of the old stretch still count; they slide out over the next 6 h as fast as new work adds up.

    due = timing.tired_at(earlier, clock.now(), 12 * H)

    assert due == clock.now() + 12 * H
    assert timing.worked([*earlier, Stretch(clock.now())], clock.now() + 3 * H) == 6 * H


def test_r19_work_still_in_the_window_shortens_the_time_to_tiredness():
    clock = FakeClock()
    start = clock.now()
    earlier = [Stretch(start, start + 10 * H)]
    clock.advance(22 * H)  # all 10 h still count, and keep counting for the next 2 h

    assert timing.tired_at(earlier, clock.now(), 12 * H) == clock.now() + 2 * H


def test_r19_someone_already_tired_when_added_is_warned_at_once():
    clock = FakeClock()
    start = clock.now()
    clock.advance(13 * H)

    due = timing.tired_at([Stretch(start, clock.now())], clock.now(), 12 * H)

    assert due == clock.now()


def test_r19_overlapping_incidents_count_once_and_stopping_work_cancels_the_warning():
    clock = FakeClock()
    start = clock.now()
    working = [Stretch(start), Stretch(start + H)]  # two incidents at once

    [timer] = domain.plan_freshness("inc-2", "wes", start + H, working, RULES).schedule
    stopped = domain.plan_freshness("inc-2", "wes", None, working, RULES)

    assert (timer.kind, timer.person, timer.due_at) == ("worker_fresh", "wes", start + 12 * H)
    assert stopped.schedule == ()
    assert stopped.cancel == (domain.Cancel("inc-2", kinds=frozenset({"worker_fresh"}), person="wes"),)


# --- ids and the lifecycle ---


def test_f4_the_same_cause_always_plans_the_same_timer_ids_and_different_causes_different_ones():
    clock = FakeClock()
    first = domain.plan_checklist("ev-1", "inc-1", LEVEL_1, clock.now(), done=())
    again = domain.plan_checklist("ev-1", "inc-1", LEVEL_1, clock.now(), done=())
    other = domain.plan_checklist("ev-2", "inc-1", LEVEL_1, clock.now(), done=())

    assert [t.id for t in first.schedule] == [t.id for t in again.schedule]
    assert len({t.id for t in first.schedule}) == 2
    assert not {t.id for t in first.schedule} & {t.id for t in other.schedule}


def test_r15_resolving_cancels_every_pending_timer_of_the_incident_whoever_it_is_for():
    plan = domain.plan_resolution("inc-1")

    assert plan.schedule == ()
    assert plan.cancel == (domain.Cancel("inc-1", kinds=None, person=None),)


def test_an_unknown_level_sets_no_deadlines():
    level = RULES.level(9)

    assert domain.plan_page("ev-1", "inc-1", "sam", FakeClock().now(), level, SAM).schedule == ()
    assert domain.plan_observer_summary("ev-1", "inc-1", FakeClock().now(), level, FakeClock().now()).schedule == ()
    assert domain.plan_checklist("ev-1", "inc-1", level, FakeClock().now(), done=()).schedule == ()

"""Which timers the incident's events plan and cancel: the process's deadlines as pure rules, no I/O.

Each ``plan_*`` function takes the facts its rule needs (times, the process version's typed
`Rules`, a person's hours or stretches on incidents) and returns a `Plan`; the handlers load
those facts and apply the plan. Every instant comes from the process kernel
(``shared.process.timing``), so the timers fire when the incident service shows a deadline due.
Timer ids derive from what caused a timer, so a redelivered or replayed event plans the very
same rows again and a rebuild re-derives the same timers.
"""

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.process import timing
from shared.process.rules import Level, Rules
from shared.process.timing import Stretch
from shared.uuids import Namespace

ACK_DUE = "ack_due"
HANDOVER_WARNING = "handover_warning"
SHIFT_LIMIT = "shift_limit"
STATUS_UPDATE_DUE = "status_update_due"
PUBLIC_UPDATE_DUE = "public_update_due"
CHECKLIST_STEP_DUE = "checklist_step_due"
WORKER_FRESH = "worker_fresh"
OBSERVER_SUMMARY_DUE = "observer_summary_due"
TENURE_KINDS = frozenset({HANDOVER_WARNING, SHIFT_LIMIT})
DAY = timing.DAY

TIMER_ID_NAMESPACE = uuid.UUID("0c4b8f3e-5a0d-4a51-b7f6-2f6e1d9a7c42")
_TIMER_IDS = Namespace(TIMER_ID_NAMESPACE)


def timer_id(cause: str, kind: str, *about: object) -> str:
    """The id of the ``kind`` timer that ``cause`` (an event id or a derived key) plans for ``about``."""
    return _TIMER_IDS(":".join([cause, kind, *map(str, about)]))


@dataclass(frozen=True)
class Timer:
    id: str
    kind: str
    incident_id: str
    person: str | None
    due_at: datetime
    detail: Mapping[str, object] = field(default_factory=dict)
    # A cadence: once fired, the timer is due again this much later, until something cancels it.
    every: timedelta | None = None

    def following(self) -> "Timer":
        """The cadence's next occurrence after this one fired."""
        assert self.every is not None, "only a cadence repeats"
        return Timer(
            timer_id(self.id, "next"),
            self.kind,
            self.incident_id,
            self.person,
            self.due_at + self.every,
            self.detail,
            self.every,
        )


@dataclass(frozen=True)
class Cancel:
    """Cancel an incident's pending timers, narrowed to some kinds, one person and/or one checklist
    step, except the timers in ``keep`` (those a re-plan wants to stay as they are)."""

    incident_id: str
    kinds: frozenset[str] | None = None
    person: str | None = None
    step: str | None = None
    keep: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Plan:
    """What an event does to the timers: cancellations apply before the new timers are scheduled."""

    cancel: tuple[Cancel, ...] = ()
    schedule: tuple[Timer, ...] = ()

    def __add__(self, other: "Plan") -> "Plan":
        return Plan(self.cancel + other.cancel, self.schedule + other.schedule)


NOTHING = Plan()


# --- R11: acknowledging a page ---


def plan_page(
    cause: str, incident_id: str, paged: str, at: datetime, level: Level, hours: Mapping[str, Any] | None
) -> Plan:
    """R11: a page (the declaration's, or an escalation's) must be acknowledged within the level's
    ``acknowledge_within`` of the moment its immediacy lets the page out to the paged person (whose
    ``hours`` they are, as projected when they were paged): a night page of a ``waking_hours`` level
    is not due before they are awake. It replaces whichever page was still unanswered."""
    cancel = (Cancel(incident_id, kinds=frozenset({ACK_DUE})),)
    if (due := timing.ack_due_at(hours, level, at)) is None:
        return Plan(cancel)
    return Plan(cancel, (Timer(timer_id(cause, ACK_DUE), ACK_DUE, incident_id, paged, due, {"level": level.number}),))


def plan_page_ended(incident_id: str) -> Plan:
    """The page was acknowledged, or someone took the role by handover: nobody is waited for."""
    return Plan((Cancel(incident_id, kinds=frozenset({ACK_DUE})),))


# --- R06: status and public updates (cadences) ---


def plan_status_update(
    cause: str, incident_id: str, worker: str, since: datetime, level: Level, not_before: datetime
) -> Plan:
    """R06: the worker's update is due ``status_update_every`` after their last request, update or
    joining, then again every ``status_update_every`` until it comes. A level's cadence applies
    from the moment the incident changed to it (``not_before``), never retroactively."""
    return _cadence(cause, STATUS_UPDATE_DUE, incident_id, worker, since, level.status_update_every, level, not_before)


def plan_status_ended(incident_id: str, worker: str) -> Plan:
    """The person no longer works on the incident: no more updates are asked of them."""
    return Plan((Cancel(incident_id, kinds=frozenset({STATUS_UPDATE_DUE}), person=worker),))


def plan_public_update(cause: str, incident_id: str, since: datetime, level: Level, not_before: datetime) -> Plan:
    """R06/R08: a public update is due every ``public_update_every`` from the declaration or the last
    one posted, when the level has such a cadence. The PR manager of the moment is who owes it."""
    return _cadence(cause, PUBLIC_UPDATE_DUE, incident_id, None, since, level.public_update_every, level, not_before)


def plan_observer_summary(cause: str, incident_id: str, since: datetime, level: Level, not_before: datetime) -> Plan:
    """R06/R07: the observers get a summary of the workers' updates every ``status_update_every`` of
    the current level, from the declaration (or the reopening), or from the last summary when the
    level changes — never before the change (``not_before``). One per incident, for nobody in
    particular: the notifier decides who the observers are."""
    every = level.status_update_every
    return _cadence(cause, OBSERVER_SUMMARY_DUE, incident_id, None, since, every, level, not_before)


def _cadence(
    cause: str,
    kind: str,
    incident_id: str,
    person: str | None,
    since: datetime,
    every: timedelta | None,
    level: Level,
    not_before: datetime,
) -> Plan:
    """The ``kind`` cadence (for ``person``, or for the incident) replaced by one due ``every`` from
    ``since`` but not before ``not_before``, repeating; none when the level has no such cadence."""
    cancel = (Cancel(incident_id, kinds=frozenset({kind}), person=person),)
    if (due := timing.cadence_due(since, every, not_before)) is None:
        return Plan(cancel)
    about = () if person is None else (person,)
    return Plan(
        cancel, (Timer(timer_id(cause, kind, *about), kind, incident_id, person, due, {"level": level.number}, every),)
    )


# --- R14: the level's checklist ---


def plan_checklist(cause: str, incident_id: str, level: Level, since: datetime, done: Collection[str]) -> Plan:
    """R14: each step of the level with a deadline is due ``due_within`` after the declaration or the
    change to this level; steps already done (at any level: a step is taken once per incident, as
    the incident service records it) are not asked again, and the previous
    level's pending steps no longer apply. The manager of the moment is who owes them."""
    cancel = (Cancel(incident_id, kinds=frozenset({CHECKLIST_STEP_DUE})),)
    return Plan(
        cancel,
        tuple(
            Timer(
                timer_id(cause, CHECKLIST_STEP_DUE, step.id),
                CHECKLIST_STEP_DUE,
                incident_id,
                None,
                due,
                {"step": step.id, "level": level.number},
            )
            for step in level.timed_steps
            # A timed step always has a deadline: the check only tells the type checker so.
            if step.id not in done and (due := timing.step_due(step, since)) is not None
        ),
    )


def plan_step_done(incident_id: str, step: str) -> Plan:
    return Plan((Cancel(incident_id, kinds=frozenset({CHECKLIST_STEP_DUE}), step=step),))


# --- people's time on incidents, across incidents (R05, R19) ---


def plan_tenure(
    incident_id: str, manager: str, since: datetime | None, managing: Iterable[Stretch], rules: Rules
) -> Plan:
    """R05: ``manager``'s handover warning and shift limit on this incident, counted from the start of
    their tenure across all incidents, and never due before they took this incident on (``since``).
    With ``since`` None they no longer manage it: its tenure timers for them are cancelled."""
    if since is None:
        return _replace_for_person(incident_id, manager, TENURE_KINDS)
    started = timing.tenure_start(managing, since, rules.manager_min_break)
    dues = zip((HANDOVER_WARNING, SHIFT_LIMIT), timing.shift_deadlines(started, since, rules), strict=True)
    cause = f"tenure:{started.isoformat()}:{since.isoformat()}"
    return _replace_for_person(
        incident_id, manager, TENURE_KINDS, dues, cause, {"tenure_started_at": started.isoformat()}
    )


def plan_freshness(
    incident_id: str, worker: str, since: datetime | None, working: Iterable[Stretch], rules: Rules
) -> Plan:
    """R19: tell the manager of this incident when ``worker`` will have been on incidents longer than
    ``worker_fresh_for`` in the last 24 hours (not before they joined it). With ``since`` None
    they no longer work on it: the warning is cancelled."""
    kinds = frozenset({WORKER_FRESH})
    if since is None or (due := timing.tired_at(working, since, rules.worker_fresh_for)) is None:
        return _replace_for_person(incident_id, worker, kinds)
    cause = f"fresh:{since.isoformat()}:{due.isoformat()}"
    return _replace_for_person(
        incident_id, worker, kinds, [(WORKER_FRESH, due)], cause, {"worked_since": since.isoformat()}
    )


def _replace_for_person(
    incident_id: str,
    person: str,
    kinds: frozenset[str],
    dues: Iterable[tuple[str, datetime]] = (),
    cause: str = "",
    detail: Mapping[str, object] | None = None,
) -> Plan:
    """``person``'s pending timers of ``kinds`` on the incident replaced by these (kind, due) ones;
    a timer planned again with the same id (the same cause) stays as it is rather than being
    cancelled and scheduled anew."""
    planned = tuple(
        Timer(timer_id(cause, kind, incident_id, person), kind, incident_id, person, due, dict(detail or {}))
        for kind, due in dues
    )
    return Plan((Cancel(incident_id, kinds=kinds, person=person, keep=frozenset(t.id for t in planned)),), planned)


# --- the incident's lifecycle (R15, R16) ---


def plan_resolution(incident_id: str) -> Plan:
    """A resolved (or closed) incident has no deadlines left: every pending timer of it is cancelled."""
    return Plan(cancel=(Cancel(incident_id),))

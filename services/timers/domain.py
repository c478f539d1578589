"""Which timers an incident event plans and which it cancels: pure rules, no I/O.

Only the per-incident part of R05 lives here so far: a new manager gets a
`handover_warning` and a `shift_limit` counted from the moment they took over.
R05's tenure across incidents (back-to-back managing does not restart the clock;
a `manager_min_break` does) will extend `plan_manager_change` with the person's
tenure as a further argument; callers already apply whatever `Plan` it returns.
"""
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

HANDOVER_WARNING = "handover_warning"
SHIFT_LIMIT = "shift_limit"
TENURE_KINDS = frozenset({HANDOVER_WARNING, SHIFT_LIMIT})

# Timer ids derive from the causing event, so a redelivered or replayed event yields the same ids.
TIMER_ID_NAMESPACE = uuid.UUID("0c4b8f3e-5a0d-4a51-b7f6-2f6e1d9a7c42")


def timer_id(event_id: str, kind: str) -> str:
    return str(uuid.uuid5(TIMER_ID_NAMESPACE, f"{event_id}:{kind}"))


@dataclass(frozen=True)
class Timer:
    id: str
    kind: str
    incident_id: str
    person: str | None
    due_at: datetime
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Cancel:
    """Cancel an incident's pending timers, narrowed to some kinds and/or one person."""
    incident_id: str
    kinds: frozenset[str] | None = None
    person: str | None = None


@dataclass(frozen=True)
class Plan:
    """What an event does to the timers: cancellations apply before the new timers are scheduled."""
    cancel: tuple[Cancel, ...] = ()
    schedule: tuple[Timer, ...] = ()


@dataclass(frozen=True)
class TenureLimits:
    """The process version's R05 durations, counted from the moment someone starts managing."""
    handover_warning_after: timedelta
    manager_shift_limit: timedelta


@dataclass(frozen=True)
class ManagerChange:
    """`manager` starts managing the incident at `at`; `previous` (None at declaration) stops."""
    event_id: str
    incident_id: str
    at: datetime
    manager: str
    previous: str | None = None


def plan_manager_change(change: ManagerChange, limits: TenureLimits) -> Plan:
    """R05: the outgoing manager's tenure timers end; the incoming manager's start now."""
    cancel = () if change.previous is None else (
        Cancel(change.incident_id, kinds=TENURE_KINDS, person=change.previous),)
    offsets = ((HANDOVER_WARNING, limits.handover_warning_after), (SHIFT_LIMIT, limits.manager_shift_limit))
    schedule = tuple(
        Timer(timer_id(change.event_id, kind), kind, change.incident_id, change.manager, change.at + offset)
        for kind, offset in offsets)
    return Plan(cancel=cancel, schedule=schedule)


def plan_resolution(incident_id: str) -> Plan:
    """A resolved incident has no deadlines left: every pending timer of it is cancelled."""
    return Plan(cancel=(Cancel(incident_id),))

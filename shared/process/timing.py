"""The process's time rules as pure functions: every service computes each deadline here, so what the
incident shows as due (R20), what the timers fire, when the notifier delivers and how the post-mortem
judges are the same instants.

- R11: a page is due for acknowledgement ``acknowledge_within`` after the level's immediacy lets it
  out to the paged person — not after the declaration, and not after a delivery succeeded.
- R05: a manager's tenure is their continuous time managing any incident; only a break of at least
  ``manager_min_break`` managing nothing starts a new one.
- R19: a worker's load is their time on incidents within the last 24 hours, overlaps counted once.
- R06/R08: a cadence falls due ``every`` after the last occurrence (or its start), never before the
  level that set it applied.
- R14: a checklist step falls due ``due_within`` after the declaration or the change to its level.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.process.hours import reachable_at
from shared.process.rules import Level, Rules, Step

DAY = timedelta(hours=24)


# --- R11: the page ---


def page_released_at(person: Mapping[str, Any] | None, level: Level, paged_at: datetime) -> datetime:
    """When the level's immediacy lets a page sent at ``paged_at`` out to ``person``."""
    return reachable_at(person, level.immediacy, paged_at)


def ack_due_at(person: Mapping[str, Any] | None, level: Level, paged_at: datetime) -> datetime | None:
    """R11: when the paged person's acknowledgement falls due (None: the level sets no deadline)."""
    if level.acknowledge_within is None:
        return None
    return page_released_at(person, level, paged_at) + level.acknowledge_within


# --- R06, R08: cadences ---


def cadence_due(since: datetime, every: timedelta | None, not_before: datetime) -> datetime | None:
    """The next occurrence of a cadence last met (or started) at ``since``; a level's cadence applies
    from the moment the incident changed to it (``not_before``), never retroactively."""
    return None if every is None else max(since + every, not_before)


# --- R14: the checklist ---


def step_due(step: Step, level_since: datetime) -> datetime | None:
    return None if step.due_within is None else level_since + step.due_within


# --- people's time on incidents, across incidents (R05, R19) ---


@dataclass(frozen=True)
class Stretch:
    """A stretch of time in one role on one incident; ``end`` None while it lasts."""

    start: datetime
    end: datetime | None = None


def merged(stretches: Iterable[Stretch], at: datetime) -> list[tuple[datetime, datetime]]:
    """The union of the stretches begun by ``at`` (those still lasting end at ``at``), in time order."""
    # min(end, at) written out, over a list rather than a generator: this runs for every stretch
    # of every look at someone's time on incidents.
    spans = sorted(
        [(s.start, s.end if s.end is not None and not at < s.end else at) for s in stretches if s.start <= at]
    )
    union: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if union and start <= union[-1][1]:
            union[-1] = (union[-1][0], max(union[-1][1], end))
        else:
            union.append((start, end))
    return union


def tenure_start(managing: Iterable[Stretch], at: datetime, min_break: timedelta) -> datetime:
    """R05: when the continuous tenure of someone managing at ``at`` began (``at`` itself when they
    had no stretch reaching it). Managing several incidents, or one after another, is one tenure."""
    spans = merged([*managing, Stretch(at, at)], at)
    started = spans[-1][0]
    for start, end in reversed(spans[:-1]):
        if started - end >= min_break:
            break
        started = start
    return started


def shift_deadlines(started: datetime, since: datetime, rules: Rules) -> tuple[datetime, datetime]:
    """R05: the handover warning and the shift limit of a tenure begun at ``started``, for an incident
    taken on at ``since`` (never due before it was taken on)."""
    return (max(started + rules.handover_warning_after, since), max(started + rules.manager_shift_limit, since))


def over_shift_limit(started: datetime, at: datetime, rules: Rules) -> bool:
    return at - started >= rules.manager_shift_limit


def worked(working: Iterable[Stretch], at: datetime) -> timedelta:
    """R19: time on incidents within the 24 hours before ``at``, overlapping stretches counted once."""
    window = at - DAY
    return sum((end - max(start, window) for start, end in merged(working, at) if end > window), timedelta(0))


def fresh(working: Iterable[Stretch], at: datetime, rules: Rules) -> bool:
    """R19: whether someone is still within ``worker_fresh_for`` on incidents in the last 24 hours."""
    return worked(working, at) <= rules.worker_fresh_for


def tired_at(working: Iterable[Stretch], since: datetime, fresh_for: timedelta) -> datetime | None:
    """R19: the first moment from ``since`` on at which someone working without a break from ``since``
    will have spent ``fresh_for`` on incidents within the last 24 hours (None: never, so long a
    limit cannot be reached in a day)."""
    if fresh_for > DAY:
        return None
    before = [s for s in merged(working, since) if s[0] < since]
    ongoing = [*(Stretch(start, end) for start, end in before), Stretch(since)]
    # Working on adds time at once; the window's tail drops earlier work as it slides past it, so
    # worked() is piecewise linear with bends where the tail meets an edge of earlier work.
    bends = sorted({since, since + DAY, *(edge + DAY for span in before for edge in span if edge + DAY > since)})
    previous = bends[0]
    for moment in bends:
        reached = worked(ongoing, moment)
        if reached >= fresh_for:
            # On the segment before ``moment`` the total grew one for one (it only grows when it does).
            return moment if moment == previous else moment - (reached - fresh_for)
        previous = moment
    return None

"""An incident's real history judged under a process version: the policy back-test's replay. Pure.

The history is the real one: people acknowledged, updated, ticked steps and handed over when they did;
the replay judges what they did against the rules of ``rules``. Every deadline is the process kernel's
(``shared.process.timing``) and every row is built the way the adherence table builds it — the checklist
and the cadences by its own functions (``checklists``, ``cadences``). Where the adherence table reads what
the timers and the incident service did under the rules in force (an escalation, a handover warning, a
shift-limit breach, a freshness warning), the replay decides it from ``rules`` as they would have:

- R11: a page goes out when the level's immediacy lets it out to the paged person (their hours, in
  their timezone) and falls due ``acknowledge_within`` later; not acknowledged by then, it escalates.
  What happened after the real page ended (escalated, handed over) is not known, so a deadline
  falling after that is not due.
- R05: each stretch someone managed this incident gets the handover warning and the shift limit of
  their tenure across incidents (``time_on_incidents``); still managing past the limit is a breach.
- R19: a worker added although no longer fresh, or who stops being fresh while working on it, is
  warned about (one warning for each stretch of work while the incident was open).
"""

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.postmortem.adherence import Hours
from services.postmortem.cadences import public_updates, status_updates
from services.postmortem.checklists import checklist
from services.postmortem.deadlines import LATE, MISSED, NOT_DUE, PENDING, WARNING, Item, Outcome, Reminders, late
from services.postmortem.domain import ManagerPage, Story
from services.postmortem.people_limits import FRESHNESS, HANDOVER_WARNING
from services.postmortem.time_on_incidents import TimeOnIncidents, open_parts
from services.postmortem.wording import human
from shared.process import timing
from shared.process.rules import Rules

ACKNOWLEDGEMENT = ("acknowledgement", "R11", "Acknowledge the page")
ESCALATION = ("escalation", "R11", "Escalate the unacknowledged page")
SHIFT_LIMIT = ("shift_limit", "R05", "Hand over before the shift limit")
# What counts as a deviation from the process: a deadline late or missed, or a warning raised.
DEVIATIONS: frozenset[Outcome] = frozenset({LATE, MISSED, WARNING})


@dataclass(frozen=True)
class Page:
    """R11: someone paged to manage, when the page would have gone out to them and been due, how its
    acknowledgement was judged and whether it would have escalated."""

    person: str
    level: int
    paged_at: datetime
    released_at: datetime
    due_at: datetime | None
    acknowledgement: Item
    escalated: bool


@dataclass(frozen=True)
class Replay:
    """An incident judged under one process: its pages and every row of its adherence."""

    pages: tuple[Page, ...]
    rows: tuple[Item, ...]

    @property
    def deviations(self) -> int:
        return sum(row.outcome in DEVIATIONS for row in self.rows)


def replay(story: Story, rules: Rules, hours: Hours, time_on: TimeOnIncidents, now: datetime) -> Replay:
    """``story`` judged under ``rules`` at ``now``; ``hours``: the paged people's (R11)."""
    return _Judging(story, hours, time_on, now).under(rules)


def replay_both(
    story: Story, before: Rules, after: Rules, hours: Hours, time_on: TimeOnIncidents, now: datetime
) -> tuple[Replay, Replay]:
    """``story`` judged under ``before`` and under ``after``: a part of the judgement reading the same
    rules under both (a proposal changes one or two of them) is computed once."""
    judging = _Judging(story, hours, time_on, now)
    return judging.under(before), judging.under(after)


# What each part of a judgement reads of the rules: equal keys, equal rows.
def _paging(rules: Rules) -> Hashable:
    return tuple((n, level.immediacy, level.acknowledge_within) for n, level in sorted(rules.levels.items()))


def _steps(rules: Rules) -> Hashable:
    return tuple((n, level.checklist) for n, level in sorted(rules.levels.items()))


def _status(rules: Rules) -> Hashable:
    return tuple((n, level.status_update_every) for n, level in sorted(rules.levels.items()))


def _public(rules: Rules) -> Hashable:
    return tuple((n, level.public_update_every) for n, level in sorted(rules.levels.items()))


def _tenure(rules: Rules) -> Hashable:
    return rules.handover_warning_after, rules.manager_shift_limit, rules.manager_min_break


@dataclass
class _Judging:
    """One incident being judged, remembering each part it computed by the rules that part read."""

    story: Story
    hours: Hours
    time_on: TimeOnIncidents
    now: datetime
    done: dict[tuple[str, Hashable], Any] = field(default_factory=dict)

    def under(self, rules: Rules) -> Replay:
        story, now, fired = self.story, self.now, Reminders([])  # a replay fires nothing: no reminder counted
        end = story.resolved_at if story.status != "open" else None
        pages, acknowledgements = self._once("pages", _paging(rules), lambda: _pages(story, rules, self.hours, now))
        rows = (
            *acknowledgements,
            *self._once("checklist", _steps(rules), lambda: checklist(story, rules, fired, end, now)),
            *self._once("status", _status(rules), lambda: status_updates(story, rules, fired, now)),
            *self._once("public", _public(rules), lambda: public_updates(story, rules, fired, now)),
            *self._once("tenure", _tenure(rules), lambda: shift_limits(story, rules, self.time_on, now)),
            *self._once("fresh", rules.worker_fresh_for, lambda: freshness(story, rules, self.time_on, now)),
        )
        return Replay(tuple(pages), rows)

    def _once(self, part: str, key: Hashable, compute: Callable[[], Any]) -> Any:
        if (part, key) not in self.done:
            self.done[part, key] = compute()
        return self.done[part, key]


def _pages(story: Story, rules: Rules, hours: Hours, now: datetime) -> tuple[list[Page], list[Item]]:
    resolved = story.resolved_at if story.status != "open" else None
    pages, rows = [], []
    for page in story.pages:
        level, person = rules.level(page.level), hours.get(page.person)
        released, due = timing.page_released_at(person, level, page.at), timing.ack_due_at(person, level, page.at)
        outcome, done_at, late_by, note = _acknowledgement(page, due, resolved, now)
        acknowledgement = Item(*ACKNOWLEDGEMENT, outcome, page.level, page.person, due, done_at, late_by, note)
        escalated = outcome in (LATE, MISSED) and due is not None
        pages.append(Page(page.person, page.level, page.at, released, due, acknowledgement, escalated))
        rows.append(acknowledgement)
        if escalated and due is not None:
            note = f"not acknowledged {human((due - released).total_seconds())} after it went out"
            rows.append(Item(*ESCALATION, WARNING, page.level, page.person, due, due, note=note))
    return pages, rows


def _acknowledgement(
    page: ManagerPage, due: datetime | None, resolved: datetime | None, now: datetime
) -> tuple[Outcome, datetime | None, float | None, str]:
    """The acknowledgement's outcome, when it came, how many seconds late (or overdue) and a note."""
    acked = page.acknowledged_at
    # Nobody takes an unanswered page over, so its late acknowledgement still counts (as in the adherence).
    if acked is not None and (page.ended_at is None or acked <= page.ended_at or page.ended_how == "unanswered"):
        outcome, late_by = late(acked, due)
        return outcome, acked, late_by, f"acknowledged after {human((acked - page.at).total_seconds())}"
    if page.ended_how == "handed_over" and page.ended_at is not None and (due is None or page.ended_at <= due):
        return NOT_DUE, None, None, "another manager took over by handover first"
    stop = page.ended_at or resolved or now
    if due is not None and due <= stop:
        return MISSED, None, (stop - due).total_seconds(), "not acknowledged in time"
    if page.ended_at is not None:
        return NOT_DUE, None, None, f"the real page ended ({page.ended_how}) before this deadline"
    if resolved is not None:
        return NOT_DUE, None, None, "the incident was resolved before it was due"
    return PENDING, None, None, "not acknowledged yet"


def shift_limits(story: Story, rules: Rules, time_on: TimeOnIncidents, now: datetime) -> list[Item]:
    """R05: the handover warning and the shift limit of each stretch someone managed the incident."""
    items = []
    for stint in story.held("manager"):
        managing = time_on.managing(stint.person, stint.start)
        started = timing.tenure_start(managing, stint.start, rules.manager_min_break)
        warning, limit = timing.shift_deadlines(started, stint.start, rules)
        until = stint.end or now
        before = (stint.start - started).total_seconds()
        began = f"{human(before)} before they took it on" if before else "when they took it on"
        managed = f"their tenure began {began}"
        if warning < until:
            items.append(
                Item(*HANDOVER_WARNING, WARNING, story.level_at(warning), stint.person, done_at=warning, note=managed)
            )
        if limit < until:
            outcome: Outcome = LATE if stint.end else MISSED
            note = f"shift limit {human(rules.manager_shift_limit.total_seconds())} reached"
            late_by = (until - limit).total_seconds()
            items.append(
                Item(*SHIFT_LIMIT, outcome, story.level_at(limit), stint.person, limit, stint.end, late_by, note)
            )
    return items


def freshness(story: Story, rules: Rules, time_on: TimeOnIncidents, now: datetime) -> list[Item]:
    """R19: a worker added although tired, or tired while working on the incident."""
    items = []
    for stint in story.held("worker"):
        for start, end in open_parts(story, stint):
            working = time_on.working(stint.person, start)
            if start == stint.start and not timing.fresh(working, start, rules):
                worked = human(timing.worked(working, start).total_seconds())
                note = f"added although already {worked} on incidents in the last 24 hours"
                items.append(Item(*FRESHNESS, WARNING, story.level_at(start), stint.person, done_at=start, note=note))
                continue
            tired = timing.tired_at(working, start, rules.worker_fresh_for)
            if tired is not None and tired < (end or now):
                note = "no longer fresh while working"
                items.append(Item(*FRESHNESS, WARNING, story.level_at(tired), stint.person, done_at=tired, note=note))
    return items

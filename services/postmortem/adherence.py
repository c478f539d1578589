"""R14: how closely an incident followed its process — every checklist step and cadence of every
level it went through (met, late by how much, missed), acknowledgements and escalations, handover
warnings and shift-limit breaches (R05), worker freshness (R19) and coverage gaps (R10).

Pure. Deadlines are the process kernel's (`shared.process.timing`), computed from the incident's events,
the process version it was declared under and the paged people's hours, so they are the instants the
incident service showed as due and the timers fired at; the timers' firings are counted as reminders.

Judged fairly: what falls due only after the resolution was "not due"; a step without a deadline left
undone was "not done" (nothing was owed by a moment, so neither is a deviation); the steps the system
performs itself are done by the event that performs them.
"""

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from services.postmortem.cadences import public_updates, status_updates
from services.postmortem.checklists import checklist
from services.postmortem.deadlines import MISSED, NOT_DUE, PENDING, WARNING, Item, Outcome, Reminders, late
from services.postmortem.domain import ManagerPage, Story
from services.postmortem.people_limits import freshness, shift_limits
from services.postmortem.timeline import Entry
from services.postmortem.wording import human
from shared.process import timing
from shared.process.rules import Rules

Name = Callable[[str | None], str]
# A person's hours as the time rules read them (shared.process.hours.hours_of), by person id.
Hours = Mapping[str, Mapping[str, Any] | None]


def evaluate(
    story: Story,
    process: dict[str, Any] | None,
    timers: list[Entry],
    now: datetime,
    name: Name,
    hours: Hours | None = None,
) -> list[Item]:
    """Every row of the process-adherence table, grouped by kind. ``hours``: the paged people's hours
    (R11: a page falls due after their hours let it out); anyone missing is reachable at once."""
    rules, fired = Rules.of(process), Reminders(timers)
    end = story.resolved_at if story.status != "open" else None
    return [
        *_coverage(story),
        *_pages(story, rules, hours or {}, fired, now, name),
        *checklist(story, rules, fired, end, now),
        *status_updates(story, rules, fired, now),
        *public_updates(story, rules, fired, now),
        *shift_limits(story, timers),
        *freshness(story, timers),
    ]


def _coverage(story: Story) -> list[Item]:
    if not story.coverage_gap:
        return []
    return [
        Item(
            "coverage_gap",
            "R10",
            "An SME for the aspect",
            WARNING,
            person=story.manager,
            done_at=story.declared_at,
            note=f"no SME covers “{story.aspect}”: the catch-all SME was paged",
        )
    ]


def _pages(story: Story, rules: Rules, hours: Hours, fired: Reminders, now: datetime, name: Name) -> list[Item]:
    items = []
    resolved = story.resolved_at if story.status != "open" else None
    for page in story.pages:
        # R11: from the moment the level's immediacy let the page out to this person, not the paging.
        due = timing.ack_due_at(hours.get(page.person), rules.level(page.level), page.at)
        until = page.acknowledged_at or page.ended_at
        reminders = fired.count("ack_due", due, until, person=page.person)
        outcome, done_at, late_by, note = _acknowledgement(page, due, resolved, now, name)
        what = "Acknowledge the page"
        items.append(
            Item(
                "acknowledgement", "R11", what, outcome, page.level, page.person, due, done_at, late_by, note, reminders
            )
        )
    return items


def _acknowledgement(
    page: ManagerPage, due: datetime | None, resolved: datetime | None, now: datetime, name: Name
) -> tuple[Outcome, datetime | None, float | None, str]:
    """How a page was acknowledged: the outcome, when, how many seconds late (or overdue), and a note."""
    outcome: Outcome
    late_by: float | None = None
    # Nobody takes an unanswered page over, so its late acknowledgement still counts.
    if page.acknowledged_at is not None and (
        page.ended_at is None or page.acknowledged_at <= page.ended_at or page.ended_how == "unanswered"
    ):
        outcome, late_by = late(page.acknowledged_at, due)
        took = human((page.acknowledged_at - page.at).total_seconds())
        return outcome, page.acknowledged_at, late_by, f"acknowledged after {took}"
    handed_over = page.ended_at if page.ended_how == "handed_over" else None
    if handed_over is not None and (due is None or handed_over <= due):
        return NOT_DUE, None, None, f"{name(page.successor)} took over by handover first"
    stop = page.ended_at or resolved or now
    if page.ended_how in ("escalated", "unanswered"):  # the deadline passed: that is what ended the page
        outcome = MISSED
    elif page.ended_at is None and resolved is not None and (due is None or resolved <= due):
        return NOT_DUE, None, None, "not acknowledged; the incident was resolved before it was due"
    elif due is not None and stop > due:
        outcome, late_by = MISSED, (stop - due).total_seconds()
    else:
        outcome = PENDING
    took = human((stop - page.at).total_seconds())
    note = {
        "escalated": f"escalated to {name(page.successor)} after {took}",
        "unanswered": f"unanswered after {took}, nobody left to page: observers were told",
        "handed_over": f"not acknowledged; {name(page.successor)} took over by handover after {took}",
    }.get(page.ended_how or "", "not acknowledged")
    return outcome, None, late_by, note

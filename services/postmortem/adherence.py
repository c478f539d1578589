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
from services.postmortem.deadlines import (
    LATE,
    MET,
    MISSED,
    NOT_DONE,
    NOT_DUE,
    PENDING,
    WARNING,
    Item,
    Reminders,
    late,
    moment,
)
from services.postmortem.domain import Entry, Stint, Story
from services.postmortem.wording import human
from shared import durations
from shared.process import timing
from shared.process.rules import SYSTEM_STEPS, Rules

Name = Callable[[str | None], str]
# A person's hours as the time rules read them (shared.process.hours.hours_of), by person id.
Hours = Mapping[str, Mapping[str, Any] | None]

# What the adherence table says of a step the system performed.
SYSTEM_NOTES = {
    "warroom.incident.resolved.v1": "done by resolving the incident",
    "warroom.incident.declared.v1": "done by the system: the draft exists from the declaration on",
}


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
        *_checklist(story, rules, fired, end, now),
        *status_updates(story, rules, fired, now),
        *public_updates(story, rules, fired, now),
        *_shift_limit(story, timers),
        *_freshness(story, timers),
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
        # Nobody takes an unanswered page over, so its late acknowledgement still counts.
        if page.acknowledged_at is not None and (
            page.ended_at is None or page.acknowledged_at <= page.ended_at or page.ended_how == "unanswered"
        ):
            outcome, late_by = late(page.acknowledged_at, due)
            took = (page.acknowledged_at - page.at).total_seconds()
            items.append(
                Item(
                    "acknowledgement",
                    "R11",
                    "Acknowledge the page",
                    outcome,
                    page.level,
                    page.person,
                    due,
                    page.acknowledged_at,
                    late_by,
                    f"acknowledged after {human(took)}",
                    reminders,
                )
            )
            continue
        if page.ended_how == "handed_over" and (due is None or page.ended_at <= due):
            items.append(
                Item(
                    "acknowledgement",
                    "R11",
                    "Acknowledge the page",
                    NOT_DUE,
                    page.level,
                    page.person,
                    due,
                    None,
                    None,
                    f"{name(page.successor)} took over by handover first",
                    reminders,
                )
            )
            continue
        stop = page.ended_at or resolved or now
        if page.ended_how in ("escalated", "unanswered"):  # the deadline passed: that is what ended the page
            outcome, late_by = MISSED, None
        elif page.ended_at is None and resolved is not None and (due is None or resolved <= due):
            items.append(
                Item(
                    "acknowledgement",
                    "R11",
                    "Acknowledge the page",
                    NOT_DUE,
                    page.level,
                    page.person,
                    due,
                    None,
                    None,
                    "not acknowledged; the incident was resolved before it was due",
                    reminders,
                )
            )
            continue
        else:
            outcome = MISSED if due is not None and stop > due else PENDING
            late_by = (stop - due).total_seconds() if outcome == MISSED else None
        took = human((stop - page.at).total_seconds())
        note = {
            "escalated": f"escalated to {name(page.successor)} after {took}",
            "unanswered": f"unanswered after {took}, nobody left to page: observers were told",
            "handed_over": f"not acknowledged; {name(page.successor)} took over by handover after {took}",
        }.get(page.ended_how or "", "not acknowledged")
        items.append(
            Item(
                "acknowledgement",
                "R11",
                "Acknowledge the page",
                outcome,
                page.level,
                page.person,
                due,
                None,
                late_by,
                note,
                reminders,
            )
        )
    return items


def _checklist(story: Story, rules: Rules, fired: Reminders, end: datetime | None, now: datetime) -> list[Item]:
    """Each step of each level visited, due from the declaration or the change to that level."""
    items = []
    for visit in story.visits:
        # The last visit lasts until the resolution; the others until the next level change.
        visit_end, by_resolution = (visit.end, False) if visit.end else (end, end is not None)
        for step in rules.level(visit.level).checklist:
            due = timing.step_due(step, visit.start)
            done = _done(story, step.id)
            done_at = done["at"] if done else None
            reminders = fired.count("checklist_step_due", due, done_at or visit_end, step=step.id)
            outcome, late_by, note = _step_outcome(visit.start, visit_end, by_resolution, due, done, now)
            items.append(
                Item(
                    "checklist",
                    "R14",
                    step.title,
                    outcome,
                    visit.level,
                    done and done["by"],
                    due,
                    done_at,
                    late_by,
                    note,
                    reminders,
                )
            )
    return items


def _done(story: Story, step: str) -> dict[str, Any] | None:
    """When a step was done: by the event that performs it, for the system's own steps (R14) — a
    manager's earlier tick does not declare the incident over — otherwise by the manager's tick."""
    performer = SYSTEM_STEPS.get(step)
    if performer is not None and performer in story.performed:
        return {**story.performed[performer], "note": SYSTEM_NOTES.get(performer, "done by the system")}
    return story.steps_done.get(step)


def _step_outcome(
    start: datetime,
    end: datetime | None,
    by_resolution: bool,
    due: datetime | None,
    done: dict[str, Any] | None,
    now: datetime,
) -> tuple[str, float | None, str]:
    done_at = done["at"] if done else None
    if done_at is not None and done_at < start:
        # The incident service counts a step once, whichever level it was done at.
        return MET, None, f"done before this level applied (at level {done['level']})"
    due_while_here = due is not None and (end is None or due < end)
    if done_at is not None and (end is None or done_at <= end or due_while_here):
        return (*late(done_at, due), done.get("note", ""))
    if end is None:  # the level still applies
        if due is not None and now > due:
            return MISSED, (now - due).total_seconds(), "not done yet"
        return PENDING, None, "not done yet"
    if due_while_here:
        return MISSED, (end - due).total_seconds(), "never done"
    # Nothing was owed while the level applied: its deadline came after the level ended, or it had none.
    later = f"; done later, at level {done['level']}" if done else ""
    if due is None:
        return (
            NOT_DONE,
            None,
            f"not done before the {'resolution' if by_resolution else 'level changed'} (it has no deadline){later}",
        )
    return (
        NOT_DUE,
        None,
        f"{'due after the resolution' if by_resolution else 'the level changed before it was due'}{later}",
    )


# --- people's limits: the manager's shift (R05), the workers' freshness (R19) ---


def _shift_limit(story: Story, timers: list[Entry]) -> list[Item]:
    items = []
    for timer in timers:
        if timer.data.get("kind") != "handover_warning":
            continue
        person, at = timer.data.get("person"), moment(timer.data.get("due_at"), timer.at)
        items.append(
            Item(
                "handover_warning",
                "R05",
                "Handover warning",
                WARNING,
                story.level_at(at),
                person,
                None,
                at,
                None,
                _managed_on(story, person, at),
            )
        )
    for breach in story.breaches:
        limit = durations.parse(breach["limit"])  # the limit the incident service applied, as it said
        due = moment(breach["tenure_started_at"], breach["at"] - limit) + limit
        stint = _stint_at(story, breach["manager"], "manager", breach["at"])
        end = stint.end if stint else None
        note = f"shift limit {human(limit.total_seconds())} reached; {_managed_on(story, breach['manager'], due)}"
        items.append(
            Item(
                "shift_limit",
                "R05",
                "Hand over before the shift limit",
                LATE if end else MISSED,
                story.level_at(due),
                breach["manager"],
                due,
                end,
                (end - due).total_seconds() if end else None,
                note,
            )
        )
    return sorted(items, key=lambda item: item.done_at or item.due_at)


def _freshness(story: Story, timers: list[Entry]) -> list[Item]:
    items = [
        Item(
            "worker_freshness",
            "R19",
            "Worker freshness",
            WARNING,
            story.level_at(t["at"]),
            t["person"],
            None,
            t["at"],
            None,
            f"added although already {human(t['worked_seconds'])} on incidents in the last 24 hours; "
            f"{_worked_on(story, t['person'], t['at'])}",
        )
        for t in story.tired_workers
    ]
    for timer in timers:
        if timer.data.get("kind") == "worker_fresh":
            person, at = timer.data.get("person"), moment(timer.data.get("due_at"), timer.at)
            items.append(
                Item(
                    "worker_freshness",
                    "R19",
                    "Worker freshness",
                    WARNING,
                    story.level_at(at),
                    person,
                    None,
                    at,
                    None,
                    f"no longer fresh while working; {_worked_on(story, person, at)}",
                )
            )
    return sorted(items, key=lambda item: item.done_at)


def _stint_at(story: Story, person: str | None, role: str, at: datetime) -> Stint | None:
    return next(
        (s for s in story.held(role) if s.person == person and s.start <= at and (s.end is None or s.end >= at)), None
    )


def _managed_on(story: Story, person: str | None, at: datetime) -> str:
    stint = _stint_at(story, person, "manager", at)
    if stint is None:
        return "was no longer managing"
    if stint.end is None:
        return "still managing"
    return f"stopped managing {human((stint.end - at).total_seconds())} later"


def _worked_on(story: Story, person: str | None, at: datetime) -> str:
    stint = _stint_at(story, person, "worker", at)
    if stint is None or stint.end is None:
        return "kept working"
    return f"released {human((stint.end - at).total_seconds())} later"

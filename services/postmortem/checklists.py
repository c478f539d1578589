"""R14 in the post-mortem: each checklist step of each level the incident went through, met, late,
missed, not due or not done.

Pure. A step falls due from the declaration or the change to its level (`shared.process.timing`);
the steps the system performs itself are done by the event that performs them.
"""

from datetime import datetime
from typing import Any

from services.postmortem.deadlines import MET, MISSED, NOT_DONE, NOT_DUE, PENDING, Item, Outcome, Reminders, late
from services.postmortem.domain import Story
from shared.process import timing
from shared.process.rules import SYSTEM_STEPS, Rules

# What the adherence table says of a step the system performed.
SYSTEM_NOTES = {
    "warroom.incident.resolved.v1": "done by resolving the incident",
    "warroom.incident.declared.v1": "done by the system: the draft exists from the declaration on",
}


def checklist(story: Story, rules: Rules, fired: Reminders, end: datetime | None, now: datetime) -> list[Item]:
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
            by = done["by"] if done else None
            row = Item("checklist", "R14", step.title, outcome, visit.level, by, due, done_at, late_by, note, reminders)
            items.append(row)
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
) -> tuple[Outcome, float | None, str]:
    due_while_here = due is not None and (end is None or due < end)
    if done:
        if done["at"] < start:
            # The incident service counts a step once, whichever level it was done at.
            return MET, None, f"done before this level applied (at level {done['level']})"
        if end is None or done["at"] <= end or due_while_here:
            return (*late(done["at"], due), done.get("note", ""))
    if end is None:  # the level still applies
        if due is not None and now > due:
            return MISSED, (now - due).total_seconds(), "not done yet"
        return PENDING, None, "not done yet"
    if due is not None and due < end:  # it was due while the level applied
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

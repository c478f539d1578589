"""People's limits in the post-mortem: handover warnings and shift-limit breaches of the manager
(R05), and workers who were no longer fresh (R19), each with how long the person carried on.

Pure: the warnings are the timers that fired and the breaches the incident service recorded.
"""

from datetime import datetime

from services.postmortem.deadlines import LATE, MISSED, WARNING, Item, Outcome, done_at, due_at, moment
from services.postmortem.domain import Stint, Story
from services.postmortem.timeline import Entry
from services.postmortem.wording import human
from shared import durations

# The rows' kind, rule and name (what the adherence table says).
HANDOVER_WARNING = ("handover_warning", "R05", "Handover warning")
FRESHNESS = ("worker_freshness", "R19", "Worker freshness")


def shift_limits(story: Story, timers: list[Entry]) -> list[Item]:
    items = []
    for timer in timers:
        if timer.data.get("kind") != "handover_warning":
            continue
        person, at = timer.data.get("person"), moment(timer.data.get("due_at"), timer.at)
        items.append(_warning(story, *HANDOVER_WARNING, person, at, _managed_on(story, person, at)))
    for breach in story.breaches:
        limit = durations.parse(breach["limit"])  # the limit the incident service applied, as it said
        due = moment(breach["tenure_started_at"], breach["at"] - limit) + limit
        stint = _stint_at(story, breach["manager"], "manager", breach["at"])
        end = stint.end if stint else None
        note = f"shift limit {human(limit.total_seconds())} reached; {_managed_on(story, breach['manager'], due)}"
        late_by = (end - due).total_seconds() if end else None
        what = "Hand over before the shift limit"
        outcome: Outcome = LATE if end else MISSED
        items.append(
            Item("shift_limit", "R05", what, outcome, story.level_at(due), breach["manager"], due, end, late_by, note)
        )
    return sorted(items, key=lambda item: item.done_at or due_at(item))


def freshness(story: Story, timers: list[Entry]) -> list[Item]:
    items = []
    for tired in story.tired_workers:  # added although already tired (the incident service said so)
        person, at = tired["person"], tired["at"]
        already = f"added although already {human(tired['worked_seconds'])} on incidents in the last 24 hours"
        items.append(_warning(story, *FRESHNESS, person, at, f"{already}; {_worked_on(story, person, at)}"))
    for timer in timers:  # tired while working (the timers service's warning)
        if timer.data.get("kind") == "worker_fresh":
            person, at = timer.data.get("person"), moment(timer.data.get("due_at"), timer.at)
            note = f"no longer fresh while working; {_worked_on(story, person, at)}"
            items.append(_warning(story, *FRESHNESS, person, at, note))
    return sorted(items, key=done_at)


def _warning(story: Story, kind: str, rule: str, what: str, person: str | None, at: datetime, note: str) -> Item:
    """A warning raised at ``at`` about ``person``: a row with no deadline, done when raised."""
    return Item(kind, rule, what, WARNING, story.level_at(at), person, done_at=at, note=note)


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

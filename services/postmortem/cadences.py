"""R06/R08 cadences in the post-mortem: status updates owed by each worker, public updates owed
by the PR manager, walked through time the way the timers service plans them, each due time the
process kernel's (`timing.cadence_due`). Pure."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.postmortem.deadlines import MISSED, NOT_DUE, PENDING, Item, Reminders, late
from services.postmortem.domain import Stint, Story
from shared.process import timing
from shared.process.rules import Level, Rules

Every = Callable[[Level], timedelta | None]


RESOLVED = "resolved"


@dataclass(frozen=True)
class OwedWindow:
    """When an occurrence is owed; ``end_note`` says why it stopped being owed."""

    start: datetime
    end: datetime | None
    end_note: str


def status_updates(story: Story, rules: Rules, fired: Reminders, now: datetime) -> list[Item]:
    """Each worker's update is due ``status_update_every`` after they joined, last updated or were asked."""
    items = []
    for worker in story.holders("worker"):
        windows = [
            w
            for stint in story.held("worker")
            if stint.person == worker
            for w in _while_open(story, stint, "released from the workers")
        ]
        updates = [at for at, who in story.status_updates if who == worker]
        asked = [at for at, workers in story.status_requests if worker in workers]
        items += _cadence(
            story,
            rules,
            fired,
            now,
            kind="status_update",
            rule="R06",
            what="Status update",
            every=lambda level: level.status_update_every,
            person=worker,
            windows=windows,
            done=updates,
            resets=asked,
        )
    return sorted(items, key=lambda item: item.due_at)


def public_updates(story: Story, rules: Rules, fired: Reminders, now: datetime) -> list[Item]:
    """The PR manager's public update is due ``public_update_every`` after the last one (R08)."""
    windows = [OwedWindow(o.start, o.end, RESOLVED) for o in story.open_periods]
    items = _cadence(
        story,
        rules,
        fired,
        now,
        kind="public_update",
        rule="R08",
        what="Public update",
        every=lambda level: level.public_update_every,
        person=None,
        windows=windows,
        done=story.public_updates,
        resets=[],
    )
    owed = []
    for item in items:  # owed by whoever was PR manager when it fell due
        holder = next(
            (
                s.person
                for s in story.held("pr_manager")
                if s.start <= item.due_at and (s.end is None or s.end > item.due_at)
            ),
            None,
        )
        note = item.note if holder else f"{item.note}; there was no PR manager".lstrip("; ")
        owed.append(replace(item, person=holder, note=note))
    return owed


def _while_open(story: Story, stint: Stint, end_note: str) -> list[OwedWindow]:
    """The parts of ``stint`` during which the incident was open."""
    windows = []
    for period in story.open_periods:
        start = max(stint.start, period.start)
        ends = [(e, note) for e, note in ((period.end, RESOLVED), (stint.end, end_note)) if e is not None]
        end, note = min(ends, key=lambda pair: pair[0]) if ends else (None, "")
        if end is None or start < end:
            windows.append(OwedWindow(start, end, note))
    return windows


def _cadence(
    story: Story,
    rules: Rules,
    fired: Reminders,
    now: datetime,
    *,
    kind: str,
    rule: str,
    what: str,
    every: Every,
    person: str | None,
    windows: list[OwedWindow],
    done: list[datetime],
    resets: list[datetime],
) -> list[Item]:
    """Walks through time as the timers do: the next occurrence is due ``every`` (of the level then in
    force) after the last one or a reset, never before a change to a level (that change re-plans it)."""

    def plan(since: datetime, moment: datetime) -> tuple[datetime | None, int]:
        """The next due time as planned at ``moment``, and the level whose cadence set it."""
        level = story.level_at(moment)
        return timing.cadence_due(since, every(rules.level(level)), moment), level

    moments = sorted(
        [(w.start, 0, "start", w) for w in windows]
        + [(v.start, 1, "level", None) for v in story.visits[1:]]
        + [(at, 2, "done", None) for at in done]
        + [(at, 2, "reset", None) for at in resets]
        + [(w.end, 3, "end", w) for w in windows if w.end is not None],
        key=lambda m: m[:2],
    )
    items: list[Item] = []
    active, since, due, level = False, None, None, None

    def record(
        outcome: str, done_at: datetime | None, late_by: float | None, note: str, until: datetime | None
    ) -> None:
        items.append(
            Item(
                kind,
                rule,
                what,
                outcome,
                level,
                person,
                due,
                done_at,
                late_by,
                note,
                fired.count(f"{kind}_due", due, until, person=person),
            )
        )

    for moment, _, happening, window in moments:
        if happening == "start":
            active, since = True, moment
            due, level = plan(moment, moment)
        elif not active:
            continue
        elif happening == "level":
            due, level = plan(since, moment)
        elif happening == "done":
            if due is not None:
                outcome, late_by = late(moment, due)
                record(outcome, moment, late_by, "", moment)
            since = moment
            due, level = plan(moment, moment)
        elif happening == "reset":
            if due is not None and moment > due:
                record(MISSED, None, (moment - due).total_seconds(), "none before the manager asked", moment)
            since = moment
            due, level = plan(moment, moment)
        elif happening == "end":
            if due is not None and due < moment:
                record(MISSED, None, (moment - due).total_seconds(), f"none before {window.end_note}", moment)
            elif due is not None and window.end_note == RESOLVED:  # R14: owed only after the end: not due
                record(NOT_DUE, None, None, "due after the resolution", moment)
            active, due = False, None
    if active and due is not None:
        if now > due:
            record(MISSED, None, (now - due).total_seconds(), "still owed", now)
        else:
            record(PENDING, None, None, "not yet due", now)
    return items

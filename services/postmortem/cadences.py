"""R06/R08 cadences in the post-mortem: status updates owed by each worker, public updates owed
by the PR manager, walked through time the way the timers service plans them, each due time the
process kernel's (`timing.cadence_due`). Pure."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from services.postmortem.deadlines import MISSED, NOT_DUE, PENDING, Item, Outcome, Reminders, due_at, late
from services.postmortem.domain import Stint, Story
from shared.process import timing
from shared.process.rules import Level, Rules

Every = Callable[[Level], timedelta | None]


RESOLVED = "resolved"


@dataclass(frozen=True)
class Cadence:
    """One cadence of the process: its reminder's kind (``<kind>_due``), its rule, its rows' name and
    the interval a level sets for it."""

    kind: str
    rule: str
    what: str
    every: Every


STATUS_UPDATE = Cadence("status_update", "R06", "Status update", lambda level: level.status_update_every)
PUBLIC_UPDATE = Cadence("public_update", "R08", "Public update", lambda level: level.public_update_every)


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
        items += _cadence(story, rules, fired, now, STATUS_UPDATE, worker, windows, done=updates, resets=asked)
    return sorted(items, key=due_at)


def public_updates(story: Story, rules: Rules, fired: Reminders, now: datetime) -> list[Item]:
    """The PR manager's public update is due ``public_update_every`` after the last one (R08)."""
    windows = [OwedWindow(o.start, o.end, RESOLVED) for o in story.open_periods]
    items = _cadence(story, rules, fired, now, PUBLIC_UPDATE, None, windows, done=story.public_updates, resets=[])
    owed = []
    for item in items:  # owed by whoever was PR manager when it fell due
        due = due_at(item)
        holder = next(
            (s.person for s in story.held("pr_manager") if s.start <= due and (s.end is None or s.end > due)), None
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
    cadence: Cadence,
    person: str | None,
    windows: list[OwedWindow],
    *,
    done: list[datetime],
    resets: list[datetime],
) -> list[Item]:
    """Walks through time as the timers do: the next occurrence is due ``every`` (of the level then in
    force) after the last one or a reset, never before a change to a level (that change re-plans it)."""
    moments = sorted(
        [(w.start, 0, "start", "") for w in windows]
        + [(v.start, 1, "level", "") for v in story.visits[1:]]
        + [(at, 2, "done", "") for at in done]
        + [(at, 2, "reset", "") for at in resets]
        + [(w.end, 3, "end", w.end_note) for w in windows if w.end is not None],
        key=lambda m: m[:2],
    )
    walk = _Walk(story, rules, fired, cadence, person)
    for moment, _, happening, end_note in moments:
        walk.step(moment, happening, end_note)
    walk.finish(now)
    return walk.items


@dataclass
class _Walk:
    """One cadence on its walk through time: owed from ``since`` (None while nothing is owed), next
    due at ``due`` under ``level``'s cadence; each occurrence met, missed or not due becomes a row."""

    story: Story
    rules: Rules
    fired: Reminders
    cadence: Cadence
    person: str | None
    since: datetime | None = None
    due: datetime | None = None
    level: int | None = None
    items: list[Item] = field(default_factory=list)

    def step(self, moment: datetime, happening: str, end_note: str) -> None:
        if happening == "start":
            self.since = moment
            self._plan(moment, moment)
        elif self.since is None:  # not owed until the next window starts
            return
        elif happening == "level":
            self._plan(self.since, moment)
        elif happening == "done":
            if self.due is not None:
                outcome, late_by = late(moment, self.due)
                self._record(outcome, moment, late_by, "", moment)
            self.since = moment
            self._plan(moment, moment)
        elif happening == "reset":
            if self.due is not None and moment > self.due:
                self._record(MISSED, None, (moment - self.due).total_seconds(), "none before the manager asked", moment)
            self.since = moment
            self._plan(moment, moment)
        elif happening == "end":
            if self.due is not None and self.due < moment:
                self._record(MISSED, None, (moment - self.due).total_seconds(), f"none before {end_note}", moment)
            elif self.due is not None and end_note == RESOLVED:  # R14: owed only after the end: not due
                self._record(NOT_DUE, None, None, "due after the resolution", moment)
            self.since, self.due = None, None

    def finish(self, now: datetime) -> None:
        """What is still owed when the walk reaches ``now``."""
        if self.since is None or self.due is None:
            return
        if now > self.due:
            self._record(MISSED, None, (now - self.due).total_seconds(), "still owed", now)
        else:
            self._record(PENDING, None, None, "not yet due", now)

    def _plan(self, since: datetime, moment: datetime) -> None:
        """The next due time as planned at ``moment``, and the level whose cadence set it."""
        self.level = self.story.level_at(moment)
        self.due = timing.cadence_due(since, self.cadence.every(self.rules.level(self.level)), moment)

    def _record(
        self, outcome: Outcome, done_at: datetime | None, late_by: float | None, note: str, until: datetime | None
    ) -> None:
        kind, rule, what = self.cadence.kind, self.cadence.rule, self.cadence.what
        reminders = self.fired.count(f"{kind}_due", self.due, until, person=self.person)
        self.items.append(
            Item(
                kind,
                rule,
                what,
                outcome,
                self.level,
                self.person,
                self.due,
                done_at,
                late_by,
                note,
                reminders,
            )
        )

"""What a deadline of the process is in the post-mortem, and how it was kept (R14).

An `Item` is one row of the process-adherence table; `Reminders` counts the timers that fired for a
deadline. The deadlines themselves come from the process kernel (`shared.process`), as everywhere else.
"""

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

# What became of a deadline, in the order the API documents them.
Outcome = Literal["met", "late", "missed", "pending", "not_due", "not_done", "warning"]
MET: Final = "met"
LATE: Final = "late"
MISSED: Final = "missed"
PENDING: Final = "pending"
NOT_DUE: Final = "not_due"
# R14: a step without a deadline left undone when its level ended. Not a deviation: nothing was due.
NOT_DONE: Final = "not_done"
WARNING: Final = "warning"


@dataclass(frozen=True)
class Item:
    kind: str
    rule: str
    what: str
    outcome: Outcome
    level: int | None = None
    person: str | None = None
    due_at: datetime | None = None
    done_at: datetime | None = None
    # Late: done this long after the deadline. Missed: still not done this long after it.
    late_by: float | None = None
    note: str = ""
    reminders: int = 0


def due_at(item: Item) -> datetime:
    """The deadline of a row that has one, to sort by (an occurrence of a cadence, a shift limit)."""
    if item.due_at is None:
        raise ValueError(f"a {item.kind} row without a deadline cannot be sorted by it")
    return item.due_at


def done_at(item: Item) -> datetime:
    """When a row's warning was raised, to sort by (a freshness warning is done when it is raised)."""
    if item.done_at is None:
        raise ValueError(f"a {item.kind} row without a moment cannot be sorted by it")
    return item.done_at


def late(done: datetime, due: datetime | None) -> tuple[Outcome, float | None]:
    """Met, or late by how many seconds."""
    if due is None or done <= due:
        return MET, None
    return LATE, (done - due).total_seconds()


def moment(value: Any, default: datetime) -> datetime:
    """A time from an event's data (ISO text), or ``default`` when it has none."""
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else default
    except ValueError:
        return default


class Reminders:
    """The timers that fired (the timers service's events), to count the reminders a deadline raised.
    Indexed by kind and time, as a long incident has thousands of deadlines and of firings."""

    def __init__(self, timers: list):
        fired: dict[str, list[tuple[datetime, str | None, str | None]]] = defaultdict(list)
        for t in timers:
            fired[t.data.get("kind")].append(
                (moment(t.data.get("due_at"), t.at), t.data.get("person"), (t.data.get("detail") or {}).get("step"))
            )
        self.fired = {kind: sorted(rows, key=lambda row: row[0]) for kind, rows in fired.items()}
        self.times = {kind: [row[0] for row in rows] for kind, rows in self.fired.items()}

    def count(
        self,
        kind: str,
        due: datetime | None,
        until: datetime | None,
        person: str | None = None,
        step: str | None = None,
    ) -> int:
        if due is None or kind not in self.fired:
            return 0
        times = self.times[kind]
        low = bisect_left(times, due - timedelta(seconds=1))  # the timers' own rounding of the same deadline
        high = len(times) if until is None else bisect_right(times, until)
        return sum(
            1
            for _, p, s in self.fired[kind][low:high]
            if (person is None or p == person) and (step is None or s == step)
        )

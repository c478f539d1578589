"""People's time on incidents across the incidents a back-test reads: managers' stretches (R05) and
workers' stretches while the incident was open (R19), as the timers service keeps them. Pure.

The timers service counts a tenure across every incident someone managed, and a worker's load across
every incident they worked on in the last 24 hours; a back-test replays a set of incidents, so it
reads their stories together (and those declared shortly before them, for context).
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from services.postmortem.domain import Stint, Story
from shared.process.timing import DAY, Stretch

# How far back a tenure is looked for, as the timers service looks (services/timers/handlers.py).
TENURE_LOOKBACK = timedelta(days=7)


def open_parts(story: Story, stint: Stint) -> list[tuple[datetime, datetime | None]]:
    """The parts of ``stint`` during which the incident was open (the timers end every stretch at a
    resolution and start them again at a reopening)."""
    parts = []
    for period in story.open_periods:
        start = max(stint.start, period.start)
        ends = [end for end in (period.end, stint.end) if end is not None]
        end = min(ends) if ends else None
        if end is None or start < end:
            parts.append((start, end))
    return parts


class TimeOnIncidents:
    """Who managed and who worked when, across ``stories``."""

    def __init__(self, stories: Iterable[Story]):
        managing: dict[str, list[Stretch]] = defaultdict(list)
        working: dict[str, list[Stretch]] = defaultdict(list)
        for story in stories:
            for stint in story.held("manager"):
                managing[stint.person].append(Stretch(stint.start, stint.end))
            for stint in story.held("worker"):
                working[stint.person] += [Stretch(start, end) for start, end in open_parts(story, stint)]
        self._managing = {person: StretchIndex(stretches) for person, stretches in managing.items()}
        self._working = {person: StretchIndex(stretches) for person, stretches in working.items()}

    def managing(self, person: str, at: datetime) -> list[Stretch]:
        """``person``'s stretches as manager begun by ``at`` that may reach into a tenure running at ``at``."""
        found = self._managing.get(person)
        return found.reaching(at, at - TENURE_LOOKBACK) if found else []

    def working(self, person: str, at: datetime) -> list[Stretch]:
        """``person``'s stretches as worker begun by ``at`` that reach into the 24 hours before it."""
        found = self._working.get(person)
        return found.reaching(at, at - DAY) if found else []


class StretchIndex:
    """One person's stretches in one role, by start, with the latest end among each prefix, so the ones
    reaching a moment are found without reading the months before it (a back-test asks thousands of times)."""

    def __init__(self, stretches: list[Stretch]):
        self.stretches = sorted(stretches, key=lambda s: s.start)
        self.starts = [s.start for s in self.stretches]
        self.latest: list[datetime | None] = []  # None: one of them still lasts
        latest: datetime | None = datetime.min.replace(tzinfo=UTC)
        for s in self.stretches:
            latest = None if latest is None or s.end is None else max(latest, s.end)
            self.latest.append(latest)

    def reaching(self, at: datetime, since: datetime) -> list[Stretch]:
        """The stretches begun by ``at`` that had not ended by ``since``, in the order they began."""
        found = []
        for i in range(bisect_right(self.starts, at) - 1, -1, -1):
            latest = self.latest[i]
            if latest is not None and latest <= since:
                break  # none begun before this one lasted past ``since`` either
            stretch = self.stretches[i]
            if stretch.end is None or stretch.end > since:
                found.append(stretch)
        return found[::-1]

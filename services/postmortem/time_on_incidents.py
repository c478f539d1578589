"""People's time on incidents across the incidents a back-test reads: managers' stretches (R05) and
workers' stretches while the incident was open (R19), as the timers service keeps them. Pure.

The timers service counts a tenure across every incident someone managed, and a worker's load across
every incident they worked on in the last 24 hours; a back-test replays a set of incidents, so it
reads their stories together (and those declared shortly before them, for context).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

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
        self._managing: dict[str, list[Stretch]] = defaultdict(list)
        self._working: dict[str, list[Stretch]] = defaultdict(list)
        for story in stories:
            for stint in story.held("manager"):
                self._managing[stint.person].append(Stretch(stint.start, stint.end))
            for stint in story.held("worker"):
                self._working[stint.person] += [Stretch(start, end) for start, end in open_parts(story, stint)]

    def managing(self, person: str, at: datetime) -> list[Stretch]:
        """``person``'s stretches as manager begun by ``at`` that may reach into a tenure running at ``at``."""
        return _reaching(self._managing.get(person, ()), at, at - TENURE_LOOKBACK)

    def working(self, person: str, at: datetime) -> list[Stretch]:
        """``person``'s stretches as worker begun by ``at`` that reach into the 24 hours before it."""
        return _reaching(self._working.get(person, ()), at, at - DAY)


def _reaching(stretches: Iterable[Stretch], at: datetime, since: datetime) -> list[Stretch]:
    return [s for s in stretches if s.start <= at and (s.end is None or s.end > since)]

"""Time people spend on incidents, across all incidents: managers' tenure (R05), workers' load (R19).

One aggregate per person, saved in the same transaction as the incident change that starts
or ends a stretch, so the rule is checked against a consistent history. Commands touching the same
person take turns in a replica (turns.py), so these records are not where commands collide. The
time rules themselves are the process kernel's (``shared.process.timing``).
"""

from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.incident.copying import CheapCopy
from shared.process.timing import Stretch, tenure_start, worked

DAY = timedelta(hours=24)


def tenure_id(person: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"warroom:tenure:{person}")


def load_id(person: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"warroom:load:{person}")


class ManagerTenure(CheapCopy, Aggregate):
    """A person's continuous time as manager of any incident, reset only by a long enough break."""

    @event("Opened")
    def __init__(self, id: UUID, person: str):
        self.person = person
        self.managing: list[str] = []
        self.started_at: datetime | None = None
        self.last_ended_at: datetime | None = None

    @event("Started")
    def start(self, incident: str, at: datetime, min_break_seconds: float) -> None:
        if not self.managing:
            self.started_at = self.tenure_start(at, timedelta(seconds=min_break_seconds))
        if incident not in self.managing:
            self.managing.append(incident)

    @event("Ended")
    def end(self, incident: str, at: datetime) -> None:
        if incident in self.managing:
            self.managing.remove(incident)
        if not self.managing:
            self.last_ended_at = at

    def _stretches(self) -> list[Stretch]:
        """The tenure so far as one stretch: only the last one can carry over into a new one."""
        if self.started_at is None:
            return []
        return [Stretch(self.started_at, None if self.managing else self.last_ended_at)]

    def tenure_start(self, at: datetime, min_break: timedelta) -> datetime:
        """R05: when the tenure of this person, were they managing at ``at``, began."""
        return tenure_start(self._stretches(), at, min_break)

    def elapsed(self, now: datetime) -> timedelta:
        if not self.managing or self.started_at is None:
            return timedelta(0)
        return now - self.started_at


class WorkerLoad(CheapCopy, Aggregate):
    """When a person worked on incidents, so the last 24 hours can be summed across incidents."""

    @event("Opened")
    def __init__(self, id: UUID, person: str):
        self.person = person
        self.open: dict[str, datetime] = {}
        self.closed: list[tuple[datetime, datetime]] = []

    @event("Started")
    def start(self, incident: str, at: datetime) -> None:
        self.open.setdefault(incident, at)

    @event("Ended")
    def end(self, incident: str, at: datetime) -> None:
        started = self.open.pop(incident, None)
        if started is not None:
            # Only the last day matters: older stretches are forgotten as they age out.
            self.closed = [(s, e) for s, e in self.closed if e > at - DAY] + [(started, at)]

    def worked(self, now: datetime) -> timedelta:
        """R19: time on any incident within the last 24 hours, overlapping stretches counted once."""
        return worked([*(Stretch(s, e) for s, e in self.closed), *(Stretch(s) for s in self.open.values())], now)

"""Time people spend on incidents, across all incidents: managers' tenure (R05), workers' load (R19).

One aggregate per person, saved in the same transaction as the incident change that starts
or ends a stretch, so the rule is checked against a consistent history.
"""
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.incident.copying import CheapCopy

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
            rested = self.last_ended_at is None or (at - self.last_ended_at).total_seconds() >= min_break_seconds
            if rested or self.started_at is None:
                self.started_at = at
        if incident not in self.managing:
            self.managing.append(incident)

    @event("Ended")
    def end(self, incident: str, at: datetime) -> None:
        if incident in self.managing:
            self.managing.remove(incident)
        if not self.managing:
            self.last_ended_at = at

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
        """Time on any incident within the last 24 hours, overlapping stretches counted once."""
        window = now - DAY
        spans = sorted([(max(s, window), e) for s, e in self.closed if e > window] +
                       [(max(s, window), now) for s in self.open.values()])
        total, end = timedelta(0), window
        for start, stop in spans:
            start = max(start, end)
            if stop > start:
                total, end = total + (stop - start), stop
        return total

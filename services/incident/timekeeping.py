"""Managers' tenure (R05) and workers' load (R19) across incidents, kept beside each command.

A command saves its incident together with the time records of the people it moves, so these are
read and changed under the person's turn (turns.py) and saved in the same commit (incidents.py).
"""

from datetime import datetime, timedelta

from services.incident import tenure, turns
from services.incident.domain import Incident


class Timekeeping:
    def __init__(self, store, organisation):
        self.store, self.organisation = store, organisation  # store: the IncidentApplication

    def tenure_start(self, person: str, at: datetime, rest: timedelta) -> datetime:
        """R05: a person already managing, or back within manager_min_break (``rest``), continues their tenure."""
        self.store.turns.take(turns.person_key(person))
        record = self._find(tenure.tenure_id(person))
        return at if record is None else record.tenure_start(at, rest)

    def worker_freshness(self, person: str, incident: Incident) -> tuple[int, bool]:
        """R19: seconds on incidents in the last 24 hours, and whether that is within worker_fresh_for."""
        self.store.turns.take(turns.person_key(person))  # read under the lock its saving takes
        load = self.store.find(tenure.load_id(person))
        worked = load.worked(self.store.clock.now()) if load else timedelta(0)  # timing.worked, across incidents
        _, document = self.organisation.process(incident.process_version)
        return int(worked.total_seconds()), worked <= self.organisation.rules_of(document).worker_fresh_for

    def track(self, before: tuple | None, incident: Incident, document: dict, at: datetime) -> list:
        """Start and end managers' tenure (R05) and workers' load (R19) as this change moved them: the
        records to save with the incident. ``before``: ``activity`` of the incident before the change."""
        old_manager, old_workers = before or (None, set())
        new_manager, new_workers = activity(incident)
        incident_id = str(incident.id)
        changed = []
        if old_manager != new_manager:
            if old_manager:
                changed.append(self._tenure(old_manager, lambda t: t.end(incident=incident_id, at=at)))
            if new_manager:
                rest = self.organisation.rules_of(document).manager_min_break.total_seconds()
                changed.append(
                    self._tenure(new_manager, lambda t: t.start(incident=incident_id, at=at, min_break_seconds=rest))
                )
        for person in old_workers - new_workers:
            changed.append(self._load(person, lambda w: w.end(incident=incident_id, at=at)))
        for person in new_workers - old_workers:
            changed.append(self._load(person, lambda w: w.start(incident=incident_id, at=at)))
        return changed

    def _tenure(self, person: str, change):
        return self._changed(person, tenure.tenure_id(person), tenure.ManagerTenure, change)

    def _load(self, person: str, change):
        return self._changed(person, tenure.load_id(person), tenure.WorkerLoad, change)

    def _changed(self, person: str, record_id, kind, change):
        """A person's time record (opened on first use) with ``change`` applied, under the person's turn."""
        self.store.turns.take(turns.person_key(person))
        record = self._find(record_id) or kind(id=record_id, person=person)
        change(record)
        return record

    def _find(self, record_id):
        """A time record as this command first read it: one read of the store per command, not one per use
        (a declaration reads the manager's tenure for its start, then changes it). The person's turn is held
        meanwhile, so only another replica could have moved it since, and then the save's version check
        refuses it and the command runs again, reading afresh (incidents.py)."""
        held = self.store.turns.current()
        if held is None:
            return self.store.find(record_id)
        key = str(record_id)
        if key not in held.read:
            held.read[key] = self.store.find(record_id)
        return held.read[key]


def activity(incident: Incident) -> tuple[str | None, set[str]]:
    """Who is managing and who is working on the incident right now (nobody once it is resolved)."""
    if incident.status != "open":
        return None, set()
    return incident.manager, set(incident.workers)

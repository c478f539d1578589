"""The incidents as far as notices need them, folded from the incident events.

Pure, so the live consumer (one event at a time) and the rebuild (thousands per transaction)
apply exactly the same rules and cannot drift apart.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

DECLARED = "warroom.incident.declared.v1"
STATUS_UPDATED = "warroom.incident.status_updated.v1"
# R06: the five parts of a worker's status update, in the order people read them.
PARTS = ("learned", "tried", "outcome", "working_on", "remaining")


@dataclass(frozen=True)
class IncidentView:
    id: str
    title: str
    aspect: str
    severity: int
    process_version: int
    manager: str
    status: str = "open"
    smes: tuple[str, ...] = ()
    workers: tuple[str, ...] = ()
    observers: tuple[str, ...] = ()
    pr_manager: str | None = None
    # Everyone who ever held a role in it, in the order they joined: told when the post-mortem is out.
    participants: tuple[str, ...] = ()


def _with(people: tuple[str, ...], *more: str | None) -> tuple[str, ...]:
    return people + tuple(p for p in dict.fromkeys(more) if p and p not in people)


def _without(people: tuple[str, ...], person: str) -> tuple[str, ...]:
    return tuple(p for p in people if p != person)


def declared(incident_id: str, data: dict[str, Any]) -> IncidentView:
    return IncidentView(
        id=incident_id,
        title=data["title"],
        aspect=data["aspect"],
        severity=data["severity"],
        process_version=data["process_version"],
        manager=data["manager"],
        smes=tuple(dict.fromkeys(data["smes"])),
        participants=_with((), data["manager"], data["paged"], *data["smes"]),
    )


def apply(
    incident: IncidentView | None, event_type: str, data: dict[str, Any], incident_id: str
) -> IncidentView | None:
    """The incident after this event (None: the event is not about a known incident)."""
    if event_type == DECLARED:
        return incident or declared(incident_id, data)
    if incident is None:
        return None
    name = event_type.removeprefix("warroom.incident.").removesuffix(".v1")
    match name:
        case "manager_changed":
            workers = (
                _without(incident.workers, data["manager"]) if data.get("removed_from_workers") else incident.workers
            )
            return replace(
                incident,
                manager=data["manager"],
                workers=workers,
                participants=_with(incident.participants, data["manager"]),
            )
        case "worker_added":
            person = data["person"]
            return replace(
                incident, workers=_with(incident.workers, person), participants=_with(incident.participants, person)
            )
        case "sme_added":
            person = data["person"]
            return replace(
                incident, smes=_with(incident.smes, person), participants=_with(incident.participants, person)
            )
        case "observer_added":
            # Observers take no part in the handling: they are told as observers, not participants.
            return replace(incident, observers=_with(incident.observers, data["person"]))
        case "worker_removed":
            return replace(incident, workers=_without(incident.workers, data["person"]))
        case "sme_removed":
            return replace(incident, smes=_without(incident.smes, data["person"]))
        case "observer_removed":
            return replace(incident, observers=_without(incident.observers, data["person"]))
        case "pr_manager_assigned":
            return replace(
                incident, pr_manager=data["person"], participants=_with(incident.participants, data["person"])
            )
        case "severity_changed":
            return replace(incident, severity=data["severity"])
        case "resolved":
            return replace(incident, status="resolved")
        case "reopened":
            return replace(incident, status="open")
        case "closed":
            return replace(incident, status="closed")
    return incident


# --- the workers' status updates, kept for the observers' summaries (R06, R07) ---


@dataclass(frozen=True)
class StatusUpdate:
    incident_id: str
    sequence: int  # the event's place in its incident: a summary covers the updates after the last one it took
    worker: str
    at: datetime
    learned: str
    tried: str
    outcome: str
    working_on: str
    remaining: str

    @property
    def parts(self) -> dict[str, str]:
        return {part: getattr(self, part) for part in PARTS}


def status_update(incident_id: str, sequence: int, at: datetime, data: dict[str, Any]) -> StatusUpdate:
    return StatusUpdate(incident_id, sequence, data["worker"], at, *(data[part] for part in PARTS))


@dataclass(frozen=True)
class Summary:
    """The status updates an observer summary covers: those after the previous summary (``since``;
    None: since the declaration), of which each worker's latest counts."""

    updates: tuple[StatusUpdate, ...]
    since: datetime | None = None

    def latest(self) -> list[StatusUpdate]:
        """Each worker's latest update, in the order of those updates."""
        by_worker = {update.worker: update for update in sorted(self.updates, key=lambda u: u.sequence)}
        return sorted(by_worker.values(), key=lambda u: u.sequence)

    def silent(self, workers: Iterable[str]) -> list[str]:
        """The workers who posted nothing in the summary's span."""
        posted = {update.worker for update in self.updates}
        return [worker for worker in workers if worker not in posted]

    @property
    def through(self) -> int:
        return max((update.sequence for update in self.updates), default=0)

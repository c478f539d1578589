"""What one event means for an incident's post-mortem: a timeline entry, plus changes to the
draft and to who held which role when.

Pure: no SQL, no I/O. `handlers.py` applies what `project` returns.
"""
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.contract import Envelope

INCIDENT, TIMER, NOTIFICATION = "warroom.incident.", "warroom.timer.", "warroom.notification."
DELIVERED = "warroom.notification.delivered.v1"


@dataclass(frozen=True)
class Entry:
    """One line of an incident's timeline: the event as it happened, with who it concerns."""
    incident_id: str
    at: datetime
    event_id: str
    sequence: int
    type: str
    actor: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class DraftOpened:
    """The declaration: the draft exists from now on (R16)."""
    title: str
    description: str
    aspect: str
    severity: int
    manager: str
    declared_by: str
    process_version: int
    coverage_gap: bool


@dataclass(frozen=True)
class DraftChanged:
    """New values for some of the draft's facts (severity, manager, resolution, …)."""
    fields: dict[str, Any]


@dataclass(frozen=True)
class RoleStarted:
    person: str
    role: str


@dataclass(frozen=True)
class RoleEnded:
    """``person`` None ends the role for whoever holds it (a resolution ends the manager's tenure)."""
    role: str
    person: str | None = None


Change = DraftOpened | DraftChanged | RoleStarted | RoleEnded


@dataclass(frozen=True)
class Projection:
    entry: Entry
    changes: tuple[Change, ...] = field(default=())


def incident_of(event: Envelope) -> str | None:
    """The incident an event is about, or None (a delivery about a minor report, say)."""
    if event.type.startswith(NOTIFICATION):
        return event.data.get("incident_id")
    return event.subject


def actor_of(event: Envelope) -> str | None:
    """The person an entry concerns: who acted, who a timer was for, who was notified."""
    data = event.data
    if event.type == "warroom.incident.declared.v1":
        return data["declared_by"]
    if event.type.startswith(TIMER):
        return data.get("person")
    if event.type.startswith(NOTIFICATION):
        return data.get("recipient")
    by = data.get("by")
    return by if isinstance(by, str) else None


def project(event: Envelope) -> Projection | None:
    """The post-mortem's view of an incident, timer or notifier event; None when not about an incident."""
    incident_id = incident_of(event)
    if incident_id is None:
        return None
    entry = Entry(incident_id=incident_id, at=event.time, event_id=event.id, sequence=event.sequence,
                  type=event.type, actor=actor_of(event), data=event.data)
    changes = _incident_changes(event.type, event.data, entry.at) if event.type.startswith(INCIDENT) else ()
    return Projection(entry, changes)


def _incident_changes(event_type: str, data: dict[str, Any], at: datetime) -> tuple[Change, ...]:
    match event_type:
        case "warroom.incident.declared.v1":
            return (
                DraftOpened(title=data["title"], description=data["description"], aspect=data["aspect"],
                            severity=data["severity"], manager=data["manager"], declared_by=data["declared_by"],
                            process_version=data["process_version"], coverage_gap=data.get("coverage_gap", False)),
                RoleStarted(data["declared_by"], "declarer"),
                RoleStarted(data["manager"], "manager"),
                *(RoleStarted(sme, "sme") for sme in data["smes"]),
            )
        case "warroom.incident.worker_added.v1":
            return (RoleStarted(data["person"], "worker"),)
        case "warroom.incident.worker_removed.v1":
            return (RoleEnded("worker", data["person"]),)
        case "warroom.incident.manager_changed.v1":
            # R03: a worker who becomes manager stops working in the same event.
            stops_working = (RoleEnded("worker", data["manager"]),) if data.get("removed_from_workers") else ()
            return (RoleEnded("manager", data["previous"]), *stops_working,
                    RoleStarted(data["manager"], "manager"), DraftChanged({"manager": data["manager"]}))
        case "warroom.incident.severity_changed.v1":
            return (DraftChanged({"severity": data["severity"]}),)
        case "warroom.incident.resolved.v1":
            # The tenure shown in the post-mortem is the time spent managing the incident while it ran.
            return (RoleEnded("manager"),
                    DraftChanged({"resolved_at": at, "resolved_by": data["by"],
                                  "resolution": data["resolution"], "test_plan": data["test_plan"]}))
    # Offers and declines change no role; types added to the contract later are kept in the
    # timeline until this service learns what they mean.
    return ()

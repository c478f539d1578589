"""The incidents as far as notices need them, folded from the incident events.

Pure, so the live consumer (one event at a time) and the rebuild (thousands per transaction)
apply exactly the same rules and cannot drift apart.
"""
from dataclasses import dataclass, replace
from typing import Any

DECLARED = "warroom.incident.declared.v1"


@dataclass(frozen=True)
class Incident:
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


def declared(incident_id: str, data: dict[str, Any]) -> Incident:
    return Incident(id=incident_id, title=data["title"], aspect=data["aspect"], severity=data["severity"],
                    process_version=data["process_version"], manager=data["manager"],
                    smes=tuple(dict.fromkeys(data["smes"])),
                    participants=_with((), data["manager"], data["paged"], *data["smes"]))


def apply(incident: Incident | None, event_type: str, data: dict[str, Any], incident_id: str) -> Incident | None:
    """The incident after this event (None: the event is not about a known incident)."""
    if event_type == DECLARED:
        return incident or declared(incident_id, data)
    if incident is None:
        return None
    name = event_type.removeprefix("warroom.incident.").removesuffix(".v1")
    match name:
        case "manager_changed":
            workers = _without(incident.workers, data["manager"]) if data.get("removed_from_workers") \
                else incident.workers
            return replace(incident, manager=data["manager"], workers=workers,
                           participants=_with(incident.participants, data["manager"]))
        case "worker_added" | "sme_added":
            role = name.removesuffix("_added") + "s"
            return replace(incident, **{role: _with(getattr(incident, role), data["person"])},
                           participants=_with(incident.participants, data["person"]))
        case "observer_added":
            # Observers take no part in the handling: they are told as observers, not participants.
            return replace(incident, observers=_with(incident.observers, data["person"]))
        case "worker_removed" | "sme_removed" | "observer_removed":
            role = name.removesuffix("_removed") + "s"
            return replace(incident, **{role: _without(getattr(incident, role), data["person"])})
        case "pr_manager_assigned":
            return replace(incident, pr_manager=data["person"],
                           participants=_with(incident.participants, data["person"]))
        case "severity_changed":
            return replace(incident, severity=data["severity"])
        case "resolved":
            return replace(incident, status="resolved")
        case "reopened":
            return replace(incident, status="open")
        case "closed":
            return replace(incident, status="closed")
    return incident

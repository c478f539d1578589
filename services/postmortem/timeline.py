"""An incident's timeline: every incident, timer and delivery event about it, kept as one row
(`Entry`) as it happened, with the person it concerns.

Pure: no SQL, no I/O. The rows are what the projection stores and `domain.fold` reads.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.contract import Envelope

INCIDENT, TIMER, NOTIFICATION = "warroom.incident.", "warroom.timer.", "warroom.notification."
DECLARED = "warroom.incident.declared.v1"
DELIVERED = "warroom.notification.delivered.v1"


@dataclass(frozen=True)
class Entry:
    """One line of an incident's timeline: an event as it happened, with the person it concerns."""

    incident_id: str
    at: datetime
    event_id: str
    sequence: int
    type: str
    actor: str | None
    data: dict[str, Any]


def incident_of(event: Envelope) -> str | None:
    """The incident an event is about, or None (a delivery about a minor report, say)."""
    if event.type.startswith(NOTIFICATION):
        incident_id: str | None = event.data.get("incident_id")  # the contract's: text, or absent
        return incident_id
    return event.subject


def actor_of(event: Envelope) -> str | None:
    """Who acted, who a timer was for, who was notified."""
    data = event.data
    # The contract's fields: a person id as text (or absent, but for the declarer).
    if event.type == DECLARED:
        declarer: str = data["declared_by"]
        return declarer
    if event.type.startswith(TIMER):
        person: str | None = data.get("person")
        return person
    if event.type.startswith(NOTIFICATION):
        recipient: str | None = data.get("recipient")
        return recipient
    for key in ("by", "worker", "person"):
        if isinstance(actor := data.get(key), str):
            return actor
    return None


def entry_of(event: Envelope) -> Entry | None:
    """The timeline row of an incident, timer or delivery event; None when it is about no incident."""
    if not event.type.startswith((INCIDENT, TIMER)) and event.type != DELIVERED:
        return None
    incident_id = incident_of(event)
    if incident_id is None:
        return None
    return Entry(
        incident_id=incident_id,
        at=event.time,
        event_id=event.id,
        sequence=event.sequence,
        type=event.type,
        actor=actor_of(event),
        data=event.data,
    )

"""The published event contract: one data model per versioned event type.

These types are what other services and other systems see. A changed meaning is a new
version (``.v2``) beside the old one, never an edit; `schemas.py` writes a JSON Schema
per type into ``shared/contract/schemas/`` and a test fails when they drift apart.
"""
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

PersonId = str


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- organisation: people, tokens, directory, process (subject = the aggregate's id) ---

class WorkingHours(Data):
    start: str
    end: str
    days: list[int]


class WakingHours(Data):
    start: str
    end: str


class PersonRegistered(Data):
    id: PersonId
    name: str
    email: str
    timezone: str
    phone: str | None = None
    groups: list[str] = []
    working_hours: WorkingHours
    waking_hours: WakingHours | None = None
    webhook_url: str | None = None
    admin: bool = False


class TokenIssued(Data):
    """A token's SHA-256 hash (never the token): every service authenticates from these."""
    id: str
    person_id: PersonId
    token_hash: str


class TokenRevoked(Data):
    id: str


class AspectSmesSet(Data):
    aspect: str
    smes: list[PersonId]
    by: PersonId


class ProcessPublished(Data):
    version: int
    document: dict[str, Any]
    by: PersonId
    # The post-mortem whose refinement produced this version (R17), if any.
    cites_postmortem: str | None = None


class MinorReportFiled(Data):
    id: str
    title: str
    description: str
    aspect: str
    by: PersonId


# --- incidents (subject = incident id, sequence = incident version) ---

class IncidentDeclared(Data):
    title: str
    description: str
    aspect: str
    severity: int
    manager: PersonId
    smes: list[PersonId]
    declared_by: PersonId
    process_version: int
    # Who was paged: the first SME, the named manager, or the catch-all (R02, R10).
    paged: PersonId
    coverage_gap: bool = False


class WorkerAdded(Data):
    person: PersonId
    by: PersonId


class WorkerRemoved(Data):
    person: PersonId
    by: PersonId


class HandoverOffered(Data):
    to: PersonId
    briefing: str
    by: PersonId


class HandoverDeclined(Data):
    to: PersonId
    by: PersonId


class ManagerChanged(Data):
    previous: PersonId
    manager: PersonId
    how: Literal["accepted", "forced", "escalated"]
    reason: str = ""
    by: PersonId
    # R03: the new manager stops being a worker in the same event.
    removed_from_workers: bool = False


class SeverityChanged(Data):
    previous: int
    severity: int
    reason: str
    by: PersonId


class IncidentResolved(Data):
    resolution: str
    test_plan: str
    by: PersonId


# --- timers (subject = incident id) ---

TimerKind = Literal["ack_due", "handover_warning", "shift_limit", "status_update_due",
                    "public_update_due", "checklist_step_due", "worker_fresh"]


class TimerFired(Data):
    timer_id: str
    kind: TimerKind
    incident_id: str
    person: PersonId | None = None
    due_at: datetime
    fired_at: datetime
    # Kind-specific detail, e.g. the checklist step id.
    detail: dict[str, Any] = {}


# --- notifier (subject = incident id, or the report id) ---

class NotificationDelivered(Data):
    delivery_id: str
    incident_id: str | None = None
    recipient: PersonId | None = None
    channel: Literal["webhook", "email", "subscription", "issue_tracker"]
    reason: str
    event_id: str


# --- post-mortem (subject = incident id) ---

class PostmortemPublished(Data):
    incident_id: str
    by: PersonId


# type -> data model. Timer kinds share one shape, each its own type.
EVENT_TYPES: dict[str, type[Data]] = {
    "warroom.person.registered.v1": PersonRegistered,
    "warroom.token.issued.v1": TokenIssued,
    "warroom.token.revoked.v1": TokenRevoked,
    "warroom.directory.aspect_set.v1": AspectSmesSet,
    "warroom.process.published.v1": ProcessPublished,
    "warroom.report.filed.v1": MinorReportFiled,
    "warroom.incident.declared.v1": IncidentDeclared,
    "warroom.incident.worker_added.v1": WorkerAdded,
    "warroom.incident.worker_removed.v1": WorkerRemoved,
    "warroom.incident.handover_offered.v1": HandoverOffered,
    "warroom.incident.handover_declined.v1": HandoverDeclined,
    "warroom.incident.manager_changed.v1": ManagerChanged,
    "warroom.incident.severity_changed.v1": SeverityChanged,
    "warroom.incident.resolved.v1": IncidentResolved,
    **{f"warroom.timer.{kind}.v1": TimerFired for kind in TimerKind.__args__},
    "warroom.notification.delivered.v1": NotificationDelivered,
    "warroom.postmortem.published.v1": PostmortemPublished,
}


def timer_type(kind: str) -> str:
    return f"warroom.timer.{kind}.v1"


def validate(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """Check data against its type's model; returns it JSON-ready."""
    return EVENT_TYPES[event_type].model_validate(data).model_dump(mode="json")

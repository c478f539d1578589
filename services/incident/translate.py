"""The one place where stored aggregate events become published contract events.

Stored events may evolve (upcasting); the published types are versioned and frozen.
"""

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.incident import organisation as org
from services.incident import tenure
from services.incident.alert_group import AlertGroup
from services.incident.domain import Incident
from shared.contract import Envelope, event_id, validate

SOURCE = "warroom/incident"
_ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}
# Kept in the store for the service's own rules, not part of the published facts
# (the envelope's `time` says when; which timer caused a change is the service's bookkeeping).
_PRIVATE_FIELDS = {"at", "timer_id", "manager_since"}

_INCIDENT = {
    "Declared": "declared",
    "Acknowledged": "acknowledged",
    "WorkerAdded": "worker_added",
    "WorkerRemoved": "worker_removed",
    "SmeAdded": "sme_added",
    "SmeRemoved": "sme_removed",
    "ObserverAdded": "observer_added",
    "ObserverRemoved": "observer_removed",
    "PrManagerAssigned": "pr_manager_assigned",
    "HandoverOffered": "handover_offered",
    "HandoverDeclined": "handover_declined",
    "ManagerChanged": "manager_changed",
    "ShiftLimitBreached": "shift_limit_breached",
    "SeverityInputGiven": "severity_input_given",
    "SeverityChanged": "severity_changed",
    "StatusRequested": "status_requested",
    "StatusUpdated": "status_updated",
    "ObserversBriefed": "observers_briefed",
    "PublicUpdatePosted": "public_update_posted",
    "AffectedInfoRequested": "affected_info_requested",
    "AffectedInfoReported": "affected_info_reported",
    "ChecklistStepCompleted": "checklist_step_completed",
    "Resolved": "resolved",
    "Reopened": "reopened",
    "Closed": "closed",
    "AlertsAttached": "alerts_attached",
    "AlertsResolved": "alerts_resolved",
}


def _made_by(aggregate: type[Aggregate], name: str) -> type[Aggregate.Event]:
    """The event class ``@event(name)`` made on ``aggregate``: eventsourcing makes it when the class is
    created, so it is there at run time but not to a type checker."""
    made: type[Aggregate.Event] = getattr(aggregate, name)
    return made


# stored event class -> (published type, stored fields left out of the published data)
TYPES: dict[type, tuple[str, set[str]]] = {
    _made_by(org.Person, "Registered"): ("warroom.person.registered.v1", set()),
    _made_by(org.Person, "Updated"): ("warroom.person.updated.v1", set()),
    _made_by(org.Person, "Deactivated"): ("warroom.person.deactivated.v1", set()),
    _made_by(org.Person, "Activated"): ("warroom.person.activated.v1", set()),
    _made_by(org.Token, "Issued"): ("warroom.token.issued.v1", set()),
    _made_by(org.Token, "Reinstated"): ("warroom.token.issued.v1", set()),
    _made_by(org.Token, "Revoked"): ("warroom.token.revoked.v1", set()),
    _made_by(org.Token, "ExpirySet"): ("warroom.token.expiry_set.v1", set()),
    _made_by(org.Process, "Established"): ("warroom.process.published.v1", set()),
    org.Process.VersionPublished: ("warroom.process.published.v1", set()),
    _made_by(org.Directory, "Opened"): ("warroom.directory.aspect_set.v1", set()),
    _made_by(org.Directory, "AspectSet"): ("warroom.directory.aspect_set.v1", set()),
    _made_by(org.MinorReport, "Filed"): ("warroom.report.filed.v1", set()),
    _made_by(org.MinorReport, "AlertsAdded"): ("warroom.report.alerts_added.v1", set()),
    Incident.PageUnanswered: ("warroom.incident.page_unanswered.v1", set()),
    **{
        _made_by(Incident, stored): (f"warroom.incident.{published}.v1", _PRIVATE_FIELDS)
        for stored, published in _INCIDENT.items()
    },
}

# Aggregates kept private to the incident service (never published).
PRIVATE = (
    org.AdminCredential.Event,
    AlertGroup.Event,
    org.Keyring.Event,
    org.TokenIndex.Event,
    tenure.ManagerTenure.Event,
    tenure.WorkerLoad.Event,
)

# Published data that names the aggregate itself.
_ID_FIELD = {
    "warroom.person.registered.v1": "id",
    "warroom.person.updated.v1": "id",
    "warroom.person.deactivated.v1": "id",
    "warroom.person.activated.v1": "id",
    "warroom.token.issued.v1": "id",
    "warroom.token.revoked.v1": "id",
    "warroom.token.expiry_set.v1": "id",
    "warroom.report.filed.v1": "id",
    "warroom.report.alerts_added.v1": "id",
}


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def to_envelope(stored_event: Aggregate.Event, position: int) -> Envelope | None:
    """The published form of a stored event, or None for events that stay private."""
    if isinstance(stored_event, PRIVATE):
        return None
    event_type, left_out = TYPES[type(stored_event)]
    data = {k: _plain(v) for k, v in vars(stored_event).items() if k not in _ENVELOPE_FIELDS | left_out}
    aggregate_id = str(stored_event.originator_id)
    if event_type in _ID_FIELD:
        data[_ID_FIELD[event_type]] = aggregate_id
    return Envelope(
        id=event_id(aggregate_id, stored_event.originator_version),
        source=SOURCE,
        type=event_type,
        subject=aggregate_id,
        time=stored_event.timestamp,
        data=validate(event_type, data),
        sequence=stored_event.originator_version,
        position=position,
    )

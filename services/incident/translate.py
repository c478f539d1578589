"""The one place where stored aggregate events become published contract events.

Stored events may evolve (upcasting); the published types are versioned and frozen.
"""
from uuid import UUID

from services.incident import domain
from shared.contract import Envelope, event_id, validate

SOURCE = "warroom/incident"
_ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}

# stored event class -> (published type, fields of the stored event left out of the published data)
TYPES: dict[type, tuple[str, set[str]]] = {
    domain.Person.Registered: ("warroom.person.registered.v1", set()),
    domain.Token.Issued: ("warroom.token.issued.v1", set()),
    domain.Token.Reinstated: ("warroom.token.issued.v1", set()),
    domain.Token.Revoked: ("warroom.token.revoked.v1", set()),
    domain.Process.Established: ("warroom.process.published.v1", set()),
    domain.Process.VersionPublished: ("warroom.process.published.v1", set()),
    domain.Directory.Opened: ("warroom.directory.aspect_set.v1", set()),
    domain.Directory.AspectSet: ("warroom.directory.aspect_set.v1", set()),
    domain.Incident.Declared: ("warroom.incident.declared.v1", {"at"}),
    domain.Incident.WorkerAdded: ("warroom.incident.worker_added.v1", set()),
    domain.Incident.WorkerRemoved: ("warroom.incident.worker_removed.v1", set()),
    domain.Incident.HandoverOffered: ("warroom.incident.handover_offered.v1", set()),
    domain.Incident.HandoverDeclined: ("warroom.incident.handover_declined.v1", set()),
    domain.Incident.ManagerChanged: ("warroom.incident.manager_changed.v1", {"at"}),
    domain.Incident.SeverityChanged: ("warroom.incident.severity_changed.v1", set()),
    domain.Incident.Resolved: ("warroom.incident.resolved.v1", {"at"}),
}

# Aggregates kept private to the incident service (never published).
PRIVATE = (domain.AdminCredential.Event,)

# Published data that names the aggregate itself.
_ID_FIELD = {"warroom.person.registered.v1": "id", "warroom.token.issued.v1": "id",
             "warroom.token.revoked.v1": "id"}


def _plain(value):
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def to_envelope(stored_event, position: int) -> Envelope | None:
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

"""Published events read back from the event store: one incident's history (GET …/events, R18), and
every incident's events in store order (GET /v1/events)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Composed, Identifier

from services.incident import translate
from services.incident.chained_events import annotated
from shared.contract import Envelope

if TYPE_CHECKING:
    from services.incident.application import IncidentApplication

_COLUMNS = "notification_id, originator_id, originator_version, topic, state"
_OF_INCIDENT = SQL(
    "SELECT " + _COLUMNS + " FROM {schema}.{table} "
    "WHERE originator_id = %s AND originator_version > %s ORDER BY originator_version LIMIT %s"
)
_SINCE = SQL(
    "SELECT " + _COLUMNS + " FROM {schema}.{table} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
)
INCIDENT_TYPES = "warroom.incident."


def published(app: "IncidentApplication", incident_id: str, after: int, limit: int) -> list[Envelope]:
    """An incident's published events after sequence ``after``, oldest first (private events left out)."""
    rows = _select(app, _OF_INCIDENT, (UUID(incident_id), after, limit))
    return [envelope for _, envelope in _envelopes(app, rows) if envelope is not None]


@dataclass(frozen=True)
class Stretch:
    """Incident events read in store order, and where the next read continues."""

    events: list[Envelope]
    # The last position read: the next read starts after it.
    read_to: int
    # Nothing more is stored after ``read_to`` (for now).
    at_end: bool


def incident_events_since(app: "IncidentApplication", position: int, limit: int, scan: int = 2000) -> Stretch:
    """At most ``limit`` incident events (``warroom.incident.*``) stored after ``position``, in store order,
    reading at most ``scan`` stored events: the people's, tokens', directory's and process's are skipped."""
    rows = _select(app, _SINCE, (position, scan))
    events: list[Envelope] = []
    read_to = position
    for notification_id, envelope in _envelopes(app, rows):
        if envelope is not None and envelope.type.startswith(INCIDENT_TYPES):
            events.append(envelope)
            if len(events) == limit:
                return Stretch(events, notification_id, at_end=False)
        read_to = notification_id
    return Stretch(events, read_to, at_end=len(rows) < scan)


def _select(app: "IncidentApplication", query: SQL, parameters: tuple[Any, ...]) -> list[dict[str, Any]]:
    recorder: Any = app.recorder  # the PostgreSQL recorder: its datastore and table are not on the base type
    statement: Composed = query.format(
        schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name)
    )
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(statement, parameters)
        rows: list[dict[str, Any]] = curs.fetchall()
    return rows


def _envelopes(app: "IncidentApplication", rows: list[dict[str, Any]]) -> list[tuple[int, Envelope | None]]:
    """Each row's position and published form (None for an event kept private), an incident event's with its
    ``chainhash`` (chained_events.py)."""
    out = []
    for row in rows:
        stored = StoredEvent(
            originator_id=row["originator_id"],
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=bytes(row["state"]),
        )
        event, _, chainhash = annotated(app.mapper, stored)
        position: int = row["notification_id"]
        envelope = translate.to_envelope(event, position)
        out.append((position, None if envelope is None else envelope.extended(chainhash=chainhash)))
    return out

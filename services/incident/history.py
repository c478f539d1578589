"""An incident's history as published events, read from the event store (GET …/events, R18)."""

from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Identifier

from services.incident import translate
from shared.contract import Envelope

_SELECT = SQL(
    "SELECT notification_id, originator_id, originator_version, topic, state FROM {schema}.{table} "
    "WHERE originator_id = %s AND originator_version > %s ORDER BY originator_version LIMIT %s"
)


def published(app, incident_id: str, after: int, limit: int) -> list[Envelope]:
    """An incident's published events after sequence ``after``, oldest first (private events left out)."""
    recorder = app.recorder
    statement = _SELECT.format(
        schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name)
    )
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(statement, (UUID(incident_id), after, limit))
        rows = curs.fetchall()
    envelopes = []
    for row in rows:
        stored = StoredEvent(
            originator_id=row["originator_id"],
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=bytes(row["state"]),
        )
        envelope = translate.to_envelope(app.mapper.to_domain_event(stored), row["notification_id"])
        if envelope is not None:
            envelopes.append(envelope)
    return envelopes

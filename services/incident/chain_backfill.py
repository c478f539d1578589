"""Histories stored before the chain existed get theirs: once per store, at start-up (a migration in Python).

Every incident event without a stored ``chainhash`` is given the one chain.py defines — computed from what
it publishes and its predecessor's, exactly as a save computes it (chained_events.py) — beside its state;
nothing of the event itself changes. What the relay had already published of each incident (up to its
checkpoint) is recorded as published (published_heads.py), as the relay records it from now on. All of it
in one transaction holding the store's table lock, which every insert takes: no event is stored meanwhile,
by this replica or an older one still running. Its row in ``chain_backfill`` says it is done; replicas
starting together do it one at a time (the migrations' lock), the later ones finding it done.
"""

from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

from services.incident import chain
from services.incident.chained_events import ChainedMapper, chained_classes, published_form
from shared import logs

log = logs.get(__name__)

_DONE = SQL("SELECT EXISTS (SELECT 1 FROM {schema}.chain_backfill)")
_LOCK = SQL("LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE")
_INCIDENTS = SQL("SELECT DISTINCT originator_id FROM {schema}.{table} WHERE topic = ANY(%s)")
_EVENTS = SQL(
    "SELECT notification_id, originator_id, originator_version, topic, state FROM {schema}.{table} "
    "WHERE originator_id = %s ORDER BY originator_version"
)
_STATE = SQL("UPDATE {schema}.{table} SET state = %s WHERE originator_id = %s AND originator_version = %s")
_CHECKPOINT = SQL("SELECT position FROM {schema}.relay_checkpoint WHERE id = 1")
_PUBLISHED = SQL(
    "INSERT INTO {schema}.published_heads (incident_id, sequence, chainhash) VALUES (%s, %s, %s) "
    "ON CONFLICT (incident_id) DO NOTHING"
)
_MARK = SQL("INSERT INTO {schema}.chain_backfill (id, events) VALUES (1, %s)")


def backfill(app: Any) -> int:
    """Give every incident event stored without a ``chainhash`` its own (``app``: the IncidentApplication):
    how many were given one (0 once done)."""
    recorder = app.recorder
    names = {"schema": Identifier(recorder.datastore.schema), "table": Identifier(recorder.events_table_name)}
    mapper: ChainedMapper = app.mapper
    topics = [get_topic(cls) for cls in chained_classes()]
    given = 0
    with recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(_DONE.format(**names))
        if cursor.fetchone()["exists"]:
            return 0
        cursor.execute(_LOCK.format(**names))
        cursor.execute(_CHECKPOINT.format(**names))
        checkpoint = cursor.fetchone()["position"]
        cursor.execute(_INCIDENTS.format(**names), (topics,))
        for incident_id in [row["originator_id"] for row in cursor.fetchall()]:
            given += _chain_one(cursor, names, mapper, incident_id, checkpoint)
        cursor.execute(_MARK.format(**names), (given,))
    if given:
        log.info("chain_backfilled", events=given)
    return given


def _chain_one(
    cursor: Any, names: dict[str, Identifier], mapper: ChainedMapper, incident_id: UUID, checkpoint: int
) -> int:
    """One incident's events without a ``chainhash`` given theirs; its last published one recorded."""
    cursor.execute(_EVENTS.format(**names), (incident_id,))
    rows = cursor.fetchall()
    previous, given, published = chain.GENESIS, 0, None
    for row in rows:
        stored = _stored(row)
        event, traceparent, chainhash = mapper.annotated(stored)
        if chainhash is None:
            chainhash = chain.link(previous, published_form(mapper, stored))
            state = mapper.stored_with(event, traceparent, chainhash).state
            cursor.execute(_STATE.format(**names), (state, incident_id, row["originator_version"]))
            given += 1
        previous = chainhash
        if row["notification_id"] <= checkpoint:
            published = (row["originator_version"], chainhash)
    if published is not None:
        cursor.execute(_PUBLISHED.format(**names), (incident_id, *published))
    return given


def _stored(row: dict[str, Any]) -> StoredEvent:
    return StoredEvent(row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"]))

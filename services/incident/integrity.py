"""GET /v1/incidents/{id}/integrity: an incident's hash chain (chain.py) recomputed from the store, never a cache.

Read in this order, each read seeing at least what the one before saw, so work going on meanwhile is never
taken for tampering: the last event the relay published (published_heads.py), the incident's version, then
every event stored for it. Events can only have been added since the first two reads, never removed.
"""

from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from services.incident import chain, published_heads
from services.incident.chained_events import annotated, is_chained, published_form
from services.incident.errors import NotFound

if TYPE_CHECKING:
    from services.incident.application import IncidentApplication


def check(app: "IncidentApplication", incident_id: str) -> chain.Verdict:
    """The incident's history checked; NotFound when no incident has this id."""
    try:
        aggregate_id = UUID(incident_id)
    except ValueError:
        raise NotFound(f"no such incident: {incident_id}") from None
    recorder: Any = app.recorder  # the PostgreSQL recorder: its datastore is not on the base type
    with recorder.datastore.transaction(commit=False) as cursor:
        published = published_heads.read(cursor, recorder.datastore.schema, aggregate_id)
    version = _version(app, incident_id)
    history = [_readable(app, stored) for stored in recorder.select_events(aggregate_id)]
    if not any(stored.envelope is not None for stored in history):  # nothing, or a person's, a token's…
        raise NotFound(f"no such incident: {incident_id}")
    return chain.verdict(history, version, published)


def _version(app: "IncidentApplication", incident_id: str) -> int | None:
    """The incident's version (from the application, as GET /v1/incidents/{id} answers it), or None when it does
    not load: a history altered in the store may fail in any way there, and the walk names where."""
    try:
        return app.incidents.incident(incident_id).version
    except Exception:  # noqa: BLE001 — whatever an altered history makes the library or the domain raise
        return None


def _readable(app: "IncidentApplication", stored: StoredEvent) -> chain.Stored:
    """One stored event as the chain sees it; one altered until it no longer reads as an incident's event
    stands in the history without a published form, and breaks the chain there."""
    try:
        event, _, chainhash = annotated(app.mapper, stored)
        envelope = published_form(app.mapper, stored) if is_chained(event) else None
    except Exception:  # noqa: BLE001 — whatever bytes were written in its place
        return chain.Stored(stored.originator_version, None, None)
    return chain.Stored(stored.originator_version, envelope, chainhash)

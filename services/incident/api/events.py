"""HTTP: an incident's history as published CloudEvents (R18)."""

from typing import Annotated

from fastapi import APIRouter, Query

from services.incident import history
from services.incident.deps import App, Caller
from services.incident.schemas import EventsPage
from shared.text import Id

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])


@router.get("/{incident_id}/events", response_model=EventsPage)
def incident_events(
    incident_id: Id,
    app: App,
    actor: Caller,
    after: Annotated[int, Query(ge=0, description="the last sequence already read")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
):
    """The incident's history as published CloudEvents, oldest first (R18: nothing is ever rewritten)."""
    app.incidents.incident(incident_id)
    events = history.published(app, incident_id, after, limit)
    more = len(events) == limit
    return EventsPage(events=[e.model_dump(mode="json") for e in events], next=events[-1].sequence if more else None)

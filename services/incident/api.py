"""HTTP commands and queries on incidents (spec §4). Every command answers the whole incident."""
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.incident import relay
from services.incident.deps import App, Caller, IfMatch, translated
from services.incident.schemas import (DeclareIn, EventsPage, HandoverIn, IncidentOut, PersonRefIn, ResolveIn,
                                       SeverityIn, incident_out)
from shared.problems import Problem

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])


def _answer(response: Response, incident) -> IncidentOut:
    response.headers["ETag"] = f'"{incident.version}"'
    return incident_out(incident)


def _command(app, response, incident_id, if_match, change) -> IncidentOut:
    with translated():
        incident = app.command(incident_id, if_match, change)
    return _answer(response, incident)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IncidentOut)
def declare(body: DeclareIn, app: App, actor: Caller, response: Response):
    with translated():
        incident = app.declare(body.title, body.description, body.aspect, body.severity, body.manager, actor)
    response.headers["Location"] = f"/v1/incidents/{incident.id}"
    return _answer(response, incident)


@router.get("/{incident_id}", response_model=IncidentOut)
def get_incident(incident_id: str, app: App, actor: Caller, response: Response,
                 as_of: Annotated[datetime | None, Query(description="state as of this moment (ISO 8601)")] = None):
    if as_of is not None and as_of.tzinfo is None:
        raise Problem(422, "as_of needs a timezone (e.g. 2026-01-05T09:00:00Z)",
                      errors=[{"field": "as_of", "message": "timezone required"}])
    with translated():
        incident = app.incident(incident_id, as_of)
    return _answer(response, incident)


@router.get("/{incident_id}/events", response_model=EventsPage)
def incident_events(incident_id: str, app: App, actor: Caller,
                    after: Annotated[int, Query(ge=0, description="the last sequence already read")] = 0,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    with translated():
        app.incident(incident_id)
        events = relay.history(app, incident_id, after, limit)
    more = len(events) == limit
    return EventsPage(events=[e.model_dump(mode="json") for e in events],
                      next=events[-1].sequence if more else None)


@router.post("/{incident_id}/workers", response_model=IncidentOut)
def add_worker(incident_id: str, body: PersonRefIn, app: App, actor: Caller, response: Response, if_match: IfMatch):
    with translated():
        app.require_people("person", body.person)
    return _command(app, response, incident_id, if_match, lambda i: i.add_worker(body.person, actor))


@router.delete("/{incident_id}/workers/{person}", response_model=IncidentOut)
def remove_worker(incident_id: str, person: str, app: App, actor: Caller, response: Response, if_match: IfMatch):
    return _command(app, response, incident_id, if_match, lambda i: i.remove_worker(person, actor))


@router.post("/{incident_id}/handover", response_model=IncidentOut)
def offer_handover(incident_id: str, body: HandoverIn, app: App, actor: Caller, response: Response,
                   if_match: IfMatch):
    with translated():
        app.require_people("to", body.to)
    return _command(app, response, incident_id, if_match,
                    lambda i: i.offer_handover(body.to, body.briefing, actor))


@router.post("/{incident_id}/handover/accept", response_model=IncidentOut)
def accept_handover(incident_id: str, app: App, actor: Caller, response: Response, if_match: IfMatch):
    return _command(app, response, incident_id, if_match, lambda i: i.accept_handover(actor, app.clock.now()))


@router.post("/{incident_id}/handover/decline", response_model=IncidentOut)
def decline_handover(incident_id: str, app: App, actor: Caller, response: Response, if_match: IfMatch):
    return _command(app, response, incident_id, if_match, lambda i: i.decline_handover(actor))


@router.post("/{incident_id}/severity", response_model=IncidentOut)
def change_severity(incident_id: str, body: SeverityIn, app: App, actor: Caller, response: Response,
                    if_match: IfMatch):
    return _command(app, response, incident_id, if_match,
                    lambda i: i.change_severity(body.level, body.reason, app.levels_of(i), actor))


@router.post("/{incident_id}/resolve", response_model=IncidentOut)
def resolve(incident_id: str, body: ResolveIn, app: App, actor: Caller, response: Response, if_match: IfMatch):
    return _command(app, response, incident_id, if_match,
                    lambda i: i.resolve(body.resolution, body.test_plan, actor, app.clock.now()))

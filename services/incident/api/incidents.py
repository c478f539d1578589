"""HTTP: declaring and reading incidents (conventions: README, "Calling the API")."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from services.incident import readmodel
from services.incident.api.answers import answer, keyed_answer
from services.incident.deps import App, Caller, Reply
from services.incident.schemas import DeclareIn, IncidentList, IncidentOut, IncidentSummary, incident_out
from shared.problems import Problem
from shared.text import Id

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IncidentOut)
def declare(body: DeclareIn, app: App, actor: Caller, response: Response):
    """Anyone signed in may declare; the aspect's first SME (or the named manager) manages and is paged (R02).
    An aspect without SMEs, or unknown, pages the catch-all; `coverage` says so, with the nearest known
    aspects (R10)."""
    organisation, incidents = app.organisation, app.incidents
    if (reply := Reply.to(201)) is not None:  # keyed (F10): the answer is recorded with the events

        def keyed(incident):
            coverage = organisation.declaration_coverage(incident.aspect, incident.coverage_gap, incident.paged)
            return keyed_answer(app, reply, incident, 201, coverage=coverage)

        incidents.declare(body.title, body.description, body.aspect, body.severity, body.manager, actor, keyed)
        return reply.response
    incident = incidents.declare(body.title, body.description, body.aspect, body.severity, body.manager, actor)
    response.headers["Location"] = f"/v1/incidents/{incident.id}"
    coverage = organisation.declaration_coverage(incident.aspect, incident.coverage_gap, incident.paged)
    return answer(app, response, incident, coverage=coverage)


@router.get("", response_model=IncidentList)
async def list_incidents(
    request: Request,
    actor: Caller,
    status: Annotated[str | None, Query(pattern="^(open|resolved|closed)$")] = None,
    severity: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
):
    """Newest first; eventually consistent (a projection of the incident stream)."""
    try:
        after = int(cursor) if cursor else None
    except ValueError:
        raise Problem(422, "cursor must be a value of a previous page's `next`") from None
    rows = await readmodel.incidents(request.app.state.pool, status, severity, after, limit)
    more = len(rows) == limit
    summaries = [IncidentSummary.model_validate(dict(row)) for row in rows]
    return IncidentList(incidents=summaries, next=str(rows[-1]["position"]) if more else None)


@router.get("/{incident_id}", response_model=IncidentOut)
def get_incident(
    incident_id: Id,
    app: App,
    actor: Caller,
    response: Response,
    as_of: Annotated[datetime | None, Query(description="state as of this moment (ISO 8601)")] = None,
):
    if as_of is not None and as_of.tzinfo is None:
        raise Problem(
            422,
            "as_of needs a timezone (e.g. 2026-01-05T09:00:00Z)",
            errors=[{"field": "as_of", "message": "timezone required"}],
        )
    incident = app.incidents.incident(incident_id, as_of)
    if as_of is not None:  # the past as it was: no duties computed against today's clock
        response.headers["ETag"] = f'"{incident.version}"'
        return incident_out(incident)
    return answer(app, response, incident)

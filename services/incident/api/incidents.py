"""HTTP: declaring and reading incidents (conventions: README, "Calling the API")."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from services.incident import readmodel
from services.incident.api.answers import answer, keyed_answer
from services.incident.api.threaded import in_thread
from services.incident.deps import App, Caller, Reply
from services.incident.incident_schemas import IncidentList, IncidentOut, IncidentSummary, incident_out
from services.incident.schemas import DeclareIn
from shared.openapi import problems, with_headers
from shared.problems import Problem
from shared.text import Id

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])

_VERSION = 'The incident\'s version, quoted ("1"): the If-Match of a command'


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=IncidentOut,
    summary="Declare an incident",
    responses=problems(
        404,
        409,
        said={
            404: "No process is published yet",
            409: "Nobody to page: the aspect has no SME and no catch_all_sme is set (R10); or the named manager "
            "is deactivated",
        },
    )
    | with_headers(201, "Location", "ETag", said={"ETag": _VERSION}),
)
@in_thread
def declare_incident(body: DeclareIn, app: App, actor: Caller, response: Response):
    """Anyone signed in may declare; the aspect's first SME (or the named manager) manages and is paged (R02).
    An aspect without SMEs, or unknown, pages the catch-all; `coverage` says so, with the nearest known
    aspects (R10). A severity the current process does not define is 422, naming its levels (R09)."""
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


@router.get("", response_model=IncidentList, summary="List incidents")
async def list_incidents(
    request: Request,
    actor: Caller,
    status: Annotated[
        str | None, Query(pattern="^(open|resolved|closed)$", description="Only incidents in this status")
    ] = None,
    severity: Annotated[int | None, Query(ge=1, le=100, description="Only incidents at this level")] = None,
    cursor: Annotated[str | None, Query(max_length=40, description="A previous page's `next`")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many incidents")] = 100,
):
    """Newest first; eventually consistent (a projection of the incident stream): an incident shows here
    within moments of its declaration, `GET /v1/incidents/{incident_id}` is always current."""
    try:
        after = int(cursor) if cursor else None
    except ValueError:
        raise Problem(422, "cursor must be a value of a previous page's `next`") from None
    rows = await readmodel.incidents(request.app.state.pool, status, severity, after, limit)
    more = len(rows) == limit
    summaries = [IncidentSummary.model_validate(dict(row)) for row in rows]
    return IncidentList(incidents=summaries, next=str(rows[-1]["position"]) if more else None)


@router.get(
    "/{incident_id}",
    response_model=IncidentOut,
    summary="Read an incident",
    responses=problems(404, said={404: "No such incident, or none yet at `as_of`"})
    | with_headers(200, "ETag", said={"ETag": _VERSION}),
)
@in_thread
def get_incident(
    incident_id: Annotated[Id, Path(description="The incident's id")],
    app: App,
    actor: Caller,
    response: Response,
    as_of: Annotated[
        datetime | None,
        Query(description="state as of this moment (ISO 8601, with a timezone): nothing is ever rewritten (R18)"),
    ] = None,
):
    """The incident as it is now, with what is due next for its manager (R20); or, with `as_of`, as it was
    then (R18), without `due`. Anyone signed in may read any incident."""
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

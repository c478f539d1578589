"""HTTP: policy back-testing — what a proposed process would have done to past incidents, before anyone
applies it (a whole proposal, or a post-mortem's process refinement). Anyone signed in; nothing changes."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.postmortem import backtests, render
from services.postmortem.api import IncidentId, ItemId
from services.postmortem.backtest_schemas import Backtest, BacktestIn
from services.postmortem.backtests import Scope
from shared.openapi import problems
from shared.problems import Problem
from shared.web import Caller

router = APIRouter(tags=["back-tests"])
TAGS = [
    {
        "name": "back-tests",
        "description": "Policy back-testing: each past incident's real history judged under the process version "
        "it ran with and under a proposed process, per incident and in total",
    }
]
JSON = "application/json"
# As many incidents as a body may list.
MAX_LISTED = 1000


@router.post(
    "/v1/backtests",
    response_model=Backtest,
    summary="Back-test a proposed process",
    responses=problems(
        409,
        said={409: "The proposal's catch_all_sme is deactivated (as PUT /v1/process refuses it)"},
    ),
)
async def backtest_process(body: BacktestIn, request: Request, caller: Caller) -> Response:
    """Replay the incidents in scope — declared since `since`, or the listed `incidents`; with neither, the
    last 90 days — under the process version each ran with and under the proposal: a `change` (a JSON merge
    patch merged onto each incident's own version) or a whole `document` (exactly one of them). Who would
    have been paged when, each deadline met, late or missed, escalations, shift-limit warnings and
    breaches, freshness warnings; per incident and in total, in words. The history is the real one: people
    acted as they did, and the replay judges them against other rules. The proposal is validated as
    `PUT /v1/process` validates a document (422 with the same errors; its warnings answered). Anyone signed
    in; nothing is changed."""
    scope = Scope.of(body.since, body.incidents)
    async with request.app.state.pool.acquire() as conn:
        result = await backtests.run(conn, scope, body.change, body.document, request.app.state.clock.now())
    return Response(render.json(result), media_type=JSON)


@router.get(
    "/v1/postmortems/{incident_id}/action-items/{item_id}/backtest",
    response_model=Backtest,
    summary="Back-test a process refinement",
    responses=problems(
        404,
        409,
        said={404: "No such incident or action item", 409: "The action item is not a process refinement (R17)"},
    ),
)
async def backtest_refinement(
    incident_id: IncidentId,
    item_id: ItemId,
    request: Request,
    caller: Caller,
    since: Annotated[
        datetime | None, Query(description="Only incidents declared at or after this moment (ISO 8601)")
    ] = None,
    incidents: Annotated[
        list[str] | None, Query(description="Only these incidents (ids; repeat the parameter for each)")
    ] = None,
) -> Response:
    """R17: what a post-mortem's process refinement would have done to past incidents, before anyone applies
    it — its recorded change merged onto each incident's own process version, as `POST /v1/backtests` does
    (the last 90 days unless `since` or `incidents` say otherwise). Anyone signed in; nothing is changed."""
    if incidents is not None and len(incidents) > MAX_LISTED:
        raise Problem(
            422,
            f"at most {MAX_LISTED} incidents may be listed",
            errors=[{"field": "incidents", "message": f"may hold at most {MAX_LISTED} items"}],
        )
    scope = Scope.of(since, incidents)
    async with request.app.state.pool.acquire() as conn:
        result = await backtests.of_refinement(conn, incident_id, item_id, scope, request.app.state.clock.now())
    return Response(render.json(result), media_type=JSON)

"""HTTP: read a post-mortem (JSON, Markdown, HTML), write its narrative and action items, apply a
process refinement from it, publish it. Reading needs a token; writing needs a role (permissions.py)."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse

from services.postmortem import backtests, examples, postmortems, refinements, render
from services.postmortem.records import NewActionItem
from services.postmortem.refinements import RefinementRefused
from services.postmortem.schemas import (
    ActionItem,
    ActionItemIn,
    Applied,
    Postmortem,
    Section,
    SectionId,
    SectionIn,
)
from shared.openapi import Responses, problems, with_headers
from shared.problems import MEDIA_TYPE
from shared.web import Caller

IncidentId = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$", description="The incident's id: a post-mortem is its incident's"
    ),
]
ItemId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The action item's number in this post-mortem")]
SectionPath = Annotated[SectionId, Path(description="The section whose narrative to write")]


router = APIRouter(prefix="/v1/postmortems", tags=["post-mortems"])
TAGS = [
    {
        "name": "post-mortems",
        "description": "An incident's post-mortem: read it (JSON, Markdown, a web page), write its narrative and "
        "action items, apply a process refinement, publish it",
    }
]
# What the errors of the post-mortem's own rules mean on its operations.
UNKNOWN = {404: "No such incident is known here (yet)"}
FROZEN = {409: "The post-mortem is published: it is frozen (R16)"}
EDITORS = {403: "Only the incident's managers (past ones too), its SMEs or an admin may write to it"}
PUBLISHERS = {403: "Only the incident's managers (past ones too) or an admin may do this"}
MARKDOWN_ANSWER: Responses = {
    200: {
        "content": {"text/markdown": {"schema": {"type": "string"}, "example": examples.MARKDOWN}},
        "description": "The report in Markdown",
    }
}
HTML_ANSWER: Responses = {
    200: {"content": {"text/html": {"example": examples.HTML}}, "description": "The report's page"}
}
# What a refusal from the incident service keeps on its way back: when to try again (503, 429).
PASSED_HEADERS = ("retry-after",)


async def _read(request: Request, incident_id: str) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn:
        # One snapshot, so the facts, the narrative and the action items agree with each other.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            return await postmortems.read(conn, incident_id, request.app.state.clock.now())


@router.get(
    "/{incident_id}", response_model=Postmortem, summary="Read a post-mortem", responses=problems(404, said=UNKNOWN)
)
async def get_postmortem(incident_id: IncidentId, request: Request, caller: Caller) -> Response:
    """An incident's post-mortem: a draft from its declaration on (R16), computed from the events and what
    people wrote at every read, frozen once published. Anyone signed in may read it; 404 until the
    incident's declaration has reached this service."""
    return Response(render.json(await _read(request, incident_id)), media_type="application/json")


@router.get(
    "/{incident_id}/report.md",
    response_class=Response,
    summary="Read a post-mortem's report in Markdown",
    responses=problems(404, said=UNKNOWN) | MARKDOWN_ANSWER,
)
async def get_postmortem_markdown(incident_id: IncidentId, request: Request, caller: Caller) -> Response:
    """The report as one Markdown document: the key durations, each section's facts and narrative (as
    written), the timeline, the process adherence and the action items. Anyone signed in may read it."""
    report = await _read(request, incident_id)
    return Response(render.markdown(report), media_type="text/markdown; charset=utf-8")


@router.get(
    "/{incident_id}/report.html",
    response_class=HTMLResponse,
    summary="Read a post-mortem's report as a web page",
    responses=problems(404, said=UNKNOWN) | HTML_ANSWER,
)
async def get_postmortem_html(incident_id: IncidentId, request: Request, caller: Caller) -> HTMLResponse:
    """One self-contained page (no external scripts, styles, fonts or images) with two SVG pictures; the
    narratives rendered from Markdown, raw HTML shown as text. Anyone signed in may read it (a signed
    link from `GET …/link` opens it without a token)."""
    report, now = await _read(request, incident_id), request.app.state.clock.now()
    # Beside each process refinement not applied yet: what it would have done to past incidents.
    return HTMLResponse(render.html(report, await backtests.beside_report(request.app.state.pool, report, now)))


@router.put(
    "/{incident_id}/sections/{section}",
    response_model=Section,
    summary="Write a section's narrative",
    responses=problems(403, 404, 409, said=EDITORS | UNKNOWN | FROZEN),
)
async def write_postmortem_section(
    incident_id: IncidentId, section: SectionPath, body: SectionIn, request: Request, caller: Caller
) -> dict[str, Any]:
    """A new version of a section's narrative, with its author and time; earlier ones stay in its history.
    For the incident's managers (past ones too), its SMEs and admins, while it is a draft: 409 once
    published (R16)."""
    async with request.app.state.pool.acquire() as conn:
        return await postmortems.edit_section(
            conn, incident_id, section.value, body.text, caller, request.app.state.clock.now()
        )


@router.post(
    "/{incident_id}/action-items",
    status_code=201,
    response_model=ActionItem,
    summary="Record an action item",
    responses=problems(403, 404, 409, said=EDITORS | UNKNOWN | FROZEN) | with_headers(201, "Location"),
)
async def add_action_item(
    incident_id: IncidentId, body: ActionItemIn, request: Request, response: Response, caller: Caller
) -> dict[str, Any]:
    """A prevention, handling or process-refinement item (the last with its change, R17), published to the
    other services as ``warroom.postmortem.action_item_added.v1``; its address in `Location`. For the
    incident's managers (past ones too), its SMEs and admins, while it is a draft: 409 once published (R16)."""
    async with request.app.state.pool.acquire() as conn:
        item = await postmortems.add_action_item(
            conn, incident_id, NewActionItem(**body.model_dump()), caller, request.app.state.clock.now()
        )
    request.app.state.publisher.wake.set()  # the incident service waits for it before applying it (R17)
    response.headers["Location"] = f"/v1/postmortems/{incident_id}/action-items/{item['id']}"
    return item


@router.post(
    "/{incident_id}/action-items/{item_id}/apply",
    response_model=Applied,
    summary="Apply a process refinement",
    responses=problems(
        403,
        404,
        409,
        422,
        said=PUBLISHERS
        | {
            404: "No such incident or action item",
            409: "Not a process refinement, applied already, or the post-mortem is published (R16, R17)",
            422: "The incident service refused the change to the process",
        },
    ),
)
async def apply_refinement(incident_id: IncidentId, item_id: ItemId, request: Request, caller: Caller) -> Any:
    """R17: publish the refinement as a new process version at once, through the incident service (with
    the caller's own token); its refusal is answered as it is, and nothing changes here. A 503 while the
    incident service has not yet seen the item comes back with its Retry-After. For the incident's
    managers (past ones too) and admins."""
    async with request.app.state.pool.acquire() as conn:
        try:
            return await refinements.apply(
                conn,
                request.app.state.incident_service,
                incident_id,
                item_id,
                caller,
                request.headers["Authorization"],
                request.app.state.clock.now(),
            )
        except RefinementRefused as refused:
            answer = refused.response
            passed = {name: answer.headers[name] for name in PASSED_HEADERS if name in answer.headers}
            return Response(
                answer.content,
                status_code=answer.status_code,
                headers=passed,
                media_type=answer.headers.get("content-type", MEDIA_TYPE),
            )


@router.post(
    "/{incident_id}/publish",
    response_model=Postmortem,
    summary="Publish a post-mortem",
    responses=problems(
        403,
        404,
        409,
        422,
        said=PUBLISHERS
        | UNKNOWN
        | {
            409: "The incident is still open (R15), or the post-mortem is published already (R16)",
            422: "The Cause, Prevention or Handling lessons narrative is empty (R16)",
        },
    ),
)
async def publish_postmortem(incident_id: IncidentId, request: Request, caller: Caller) -> Response:
    """R16: freeze the report; the incident service closes the incident, the notifier tells participants.
    Refused (422, naming them) while the Cause, Prevention or Handling lessons narrative is empty, and
    (409) while the incident is open (R15) or once published. For the incident's managers (past ones
    too) and admins."""
    async with request.app.state.pool.acquire() as conn:
        report = await postmortems.publish(conn, incident_id, caller, request.app.state.clock.now())
    request.app.state.publisher.wake.set()
    return Response(render.json(report), media_type="application/json")

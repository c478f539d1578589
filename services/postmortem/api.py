"""HTTP: read a post-mortem (JSON, Markdown, HTML), write its narrative and action items, apply a
process refinement from it, publish it. Reading needs a token; writing needs a role (permissions.py)."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse

from services.postmortem import postmortems, refinements, render
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
from shared.problems import MEDIA_TYPE
from shared.web import Caller

IncidentId = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$", description="The incident's id: a post-mortem is its incident's"
    ),
]
ItemId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The action item's number in this post-mortem")]


router = APIRouter(prefix="/v1/postmortems", tags=["post-mortems"])
# What a refusal from the incident service keeps on its way back: when to try again (503, 429).
PASSED_HEADERS = ("retry-after",)


async def _read(request: Request, incident_id: str) -> dict[str, Any]:
    async with request.app.state.pool.acquire() as conn:
        # One snapshot, so the facts, the narrative and the action items agree with each other.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            return await postmortems.read(conn, incident_id, request.app.state.clock.now())


@router.get("/{incident_id}", response_model=Postmortem)
async def get_postmortem(incident_id: IncidentId, request: Request, caller: Caller) -> Response:
    """An incident's post-mortem: a draft from its declaration on (R16), frozen once published."""
    return Response(render.json(await _read(request, incident_id)), media_type="application/json")


@router.get(
    "/{incident_id}/report.md",
    response_class=Response,
    responses={
        200: {"content": {"text/markdown": {"schema": {"type": "string"}}}, "description": "The report in Markdown"}
    },
)
async def get_markdown(incident_id: IncidentId, request: Request, caller: Caller) -> Response:
    report = await _read(request, incident_id)
    return Response(render.markdown(report), media_type="text/markdown; charset=utf-8")


@router.get("/{incident_id}/report.html", response_class=HTMLResponse)
async def get_html(incident_id: IncidentId, request: Request, caller: Caller) -> HTMLResponse:
    """One self-contained page (no external scripts, styles, fonts or images) with two SVG pictures."""
    return HTMLResponse(render.html(await _read(request, incident_id)))


@router.put("/{incident_id}/sections/{section}", response_model=Section)
async def edit_section(
    incident_id: IncidentId, section: SectionId, body: SectionIn, request: Request, caller: Caller
) -> dict[str, Any]:
    """A new version of a section's narrative, with its author and time; earlier ones stay in its history."""
    async with request.app.state.pool.acquire() as conn:
        return await postmortems.edit_section(
            conn, incident_id, section.value, body.text, caller, request.app.state.clock.now()
        )


@router.post("/{incident_id}/action-items", status_code=201, response_model=ActionItem)
async def add_action_item(
    incident_id: IncidentId, body: ActionItemIn, request: Request, response: Response, caller: Caller
) -> dict[str, Any]:
    """A prevention, handling or process-refinement item (the last with its change, R17), published to the
    other services as ``warroom.postmortem.action_item_added.v1``."""
    async with request.app.state.pool.acquire() as conn:
        item = await postmortems.add_action_item(
            conn, incident_id, NewActionItem(**body.model_dump()), caller, request.app.state.clock.now()
        )
    request.app.state.publisher.wake.set()  # the incident service waits for it before applying it (R17)
    response.headers["Location"] = f"/v1/postmortems/{incident_id}/action-items/{item['id']}"
    return item


@router.post("/{incident_id}/action-items/{item_id}/apply", response_model=Applied)
async def apply_refinement(incident_id: IncidentId, item_id: ItemId, request: Request, caller: Caller) -> Any:
    """R17: publish the refinement as a new process version at once, through the incident service (with
    the caller's own token); its refusal is answered as it is, and nothing changes here. A 503 while the
    incident service has not yet seen the item comes back with its Retry-After."""
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


@router.post("/{incident_id}/publish", response_model=Postmortem)
async def publish(incident_id: IncidentId, request: Request, caller: Caller) -> Response:
    """R16: freeze the report; the incident service closes the incident, the notifier tells participants.
    Refused (422, naming them) while the Cause, Prevention or Handling lessons narrative is empty."""
    async with request.app.state.pool.acquire() as conn:
        report = await postmortems.publish(conn, incident_id, caller, request.app.state.clock.now())
    request.app.state.publisher.wake.set()
    return Response(render.json(report), media_type="application/json")

"""GET /incidents/{id}: the incident page — roles, what is due, the live timeline, and one form per action
the signed-in person may take; POST /incidents/{id}/do/{action}: a form's command, through the same use
case as the API. A refusal is shown on the page as a sentence with its rule, the form kept as filled.

The page's script follows the incident's live event stream and fetches ``/incidents/{id}/live`` — the
same sections, rendered anew — so the timeline grows and the roles and deadlines change without a
reload; the forms are left alone while someone is typing in them."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.incident.console import access, commands, incident_view, people_lookup, refusals, views
from services.incident.console.access import Posted, SignedIn
from services.incident.console.incident_list import INCIDENT_EVENTS
from services.incident.errors import NotFound, Refused
from shared.text import Id

router = APIRouter(include_in_schema=False)


async def _page(request: Request, me: access.Me, incident_id: str) -> incident_view.IncidentPage:
    app = access.application(request)
    return await run_in_threadpool(incident_view.incident_page, app, incident_id, me.actor, datetime.now(UTC))


async def render_page(
    request: Request, me: access.Me, incident_id: str, status: int = 200, **context: Any
) -> HTMLResponse:
    try:
        page = await _page(request, me, incident_id)
    except NotFound:
        return views.render(request, "not_found.html.j2", me.session, status=404, what="incident", ident=incident_id)
    people = await people_lookup.choices(request.app.state.pool) if page.actions else []
    context = {"error": None, "filled": {}, "failed": None, "done": None, **context}
    return views.render(
        request, "incident.html.j2", me.session, status=status, page=page, people=people, events=INCIDENT_EVENTS,
        **context,
    )  # fmt: skip


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
async def incident(incident_id: Id, request: Request, me: SignedIn) -> HTMLResponse:
    done = commands.DONE.get(request.query_params.get("done", ""))
    return await render_page(request, me, incident_id, done=done)


@router.get("/incidents/{incident_id}/live", response_class=HTMLResponse)
async def live_sections(incident_id: Id, request: Request, me: SignedIn) -> HTMLResponse:
    """The page's changing sections alone, for its script."""
    page = await _page(request, me, incident_id)
    people = await people_lookup.choices(request.app.state.pool) if page.actions else []
    return views.render(
        request, "incident_live.html.j2", me.session, page=page, people=people, error=None, filled={}, failed=None
    )


@router.post("/incidents/{incident_id}/do/{action}", response_class=HTMLResponse)
async def act(incident_id: Id, action: Id, request: Request, me: SignedIn, form: Posted) -> Response:
    app = access.application(request)
    try:
        people = {
            name: await people_lookup.resolve(request.app.state.pool, app, commands.field(form, name), name)
            for name in commands.PEOPLE_FIELDS.get(action, ())
        }
        change = commands.command_for(action, form, app, people)
        await run_in_threadpool(app.incidents.command, incident_id, None, me.actor, change)
    except (Refused, ValidationError) as exc:
        refused = refusals.explained(exc)
        filled = {key: commands.field(form, key) for key in form if key != "csrf"}
        return await render_page(
            request, me, incident_id, status=refused.status, error=refused, filled=filled, failed=action
        )
    return views.see_other(f"/incidents/{incident_id}?done={action}#done")

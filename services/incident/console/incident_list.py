"""GET /: the incident list once signed in (the sign-in page otherwise), kept live by the page's script:
each incident event on ``GET /v1/events`` fetches that incident's row (``/incidents/{id}/row``), read
from the store, so a new incident appears without a reload."""

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from services.incident.console import access, list_view, signin, views
from services.incident.console.access import SignedIn
from services.incident.console.sessions import COOKIE
from shared.contract import EVENT_TYPES
from shared.text import Id

router = APIRouter(include_in_schema=False)

# The event types a live page listens for (each SSE message is named by its CloudEvent type).
INCIDENT_EVENTS = " ".join(sorted(t for t in EVENT_TYPES if t.startswith("warroom.incident.")))


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    sessions = access.sessions(request)
    session = await sessions.session(request.scope)
    if session is None:
        page = signin.page(request, request.query_params.get("next"), signed_out="signed_out" in request.query_params)
        if COOKIE in request.cookies:  # a session that ended (revoked, expired): its cookie goes
            sessions.clear_cookie(page)
        return page
    me = await access.signed_in(request)
    now = datetime.now(UTC)
    rows = await list_view.rows(request.app.state.pool, access.application(request), now)
    return views.render(
        request, "incidents.html.j2", me.session, rows=rows, now=now, order=list_view.order, events=INCIDENT_EVENTS
    )


@router.get("/incidents/{incident_id}/row", response_class=HTMLResponse)
async def incident_row(incident_id: Id, request: Request, me: SignedIn) -> HTMLResponse:
    now = datetime.now(UTC)
    row = await run_in_threadpool(list_view.row_of, access.application(request), incident_id, now)
    return views.render(request, "incident_row_fragment.html.j2", me.session, row=row, now=now, order=list_view.order)

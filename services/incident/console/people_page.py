"""GET /people: everyone, searchable; GET /people/{id}: a person — contact details (phone and webhook to
admins and the person only, as the API shows them), hours, and their tokens for admins and the person,
each revocable. The person edits their own contact details and hours; admins register, deactivate and
activate people. Every change goes through the people use cases the API calls. Tokens are issued by
the API only: a token's secret never appears on a console page (S9)."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from services.incident import organisation as org
from services.incident import people_list
from services.incident.console import access, commands, refusals, views
from services.incident.console.access import Posted, SignedIn
from services.incident.errors import NotFound, Refused
from services.incident.people_schemas import PRIVATE_FIELDS, checked_person
from services.incident.schemas import PersonIn
from shared.projection import token_hash
from shared.text import Id

router = APIRouter(include_in_schema=False)
SHOWN = 100
DAYS = ((1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun"))
DONE = {
    "registered": "The person is registered. Issue them a token with the API or the command line.",
    "edited": "Saved.",
    "revoked": "The token is revoked, with every session opened with it.",
    "activated": "The person is active again. Their old tokens stay revoked.",
}


@router.get("/people", response_class=HTMLResponse)
async def people(request: Request, me: SignedIn) -> HTMLResponse:
    q = request.query_params.get("q", "").strip()[:200]
    active = request.query_params.get("inactive") is None
    query = people_list.Query(q=q or None, active=active, limit=SHOWN)
    found, more = await people_list.page(request.app.state.pool, query)
    return views.render(
        request, "people.html.j2", me.session, people=found, q=q, active=active, more=more is not None,
        done=DONE.get(request.query_params.get("done", "")), error=None, filled={}, days=DAYS,
    )  # fmt: skip


async def _person_page(
    request: Request, me: access.Me, person_id: str, status: int = 200, **context: Any
) -> HTMLResponse:
    app = access.application(request)
    try:
        person = await run_in_threadpool(app.people.person, person_id)
    except NotFound:
        return views.render(request, "not_found.html.j2", me.session, status=404, what="person", ident=person_id)
    sees_all = me.admin or me.person_id == person_id
    shown = {**person.fields(), "id": person_id, "active": person.active}
    if not sees_all:
        shown.update(dict.fromkeys(PRIVATE_FIELDS))
    tokens: list[Any] = []
    used: dict[str, datetime] = {}
    if sees_all:
        tokens, _ = await run_in_threadpool(app.people.tokens_of, person_id, me.actor, None, 50)
        used = await request.app.state.token_usage.last_used([str(token.id) for token in tokens])
    context = {"error": None, "filled": {}, "deactivation": None, "this_session": _session_token_id(request), **context}
    return views.render(
        request, "person.html.j2", me.session, status=status, person=shown, sees_all=sees_all, tokens=tokens,
        used=used, now=datetime.now(UTC), days=DAYS, done=DONE.get(request.query_params.get("done", "")), **context,
    )  # fmt: skip


@router.get("/people/{person_id}", response_class=HTMLResponse)
async def person(person_id: Id, request: Request, me: SignedIn) -> HTMLResponse:
    return await _person_page(request, me, person_id)


def _hours(form: FormData) -> dict[str, Any]:
    days = [int(day) for day in form.getlist("days") if isinstance(day, str) and day.isdigit()]
    return {"start": commands.field(form, "start"), "end": commands.field(form, "end"), "days": days}


def _contact(form: FormData) -> dict[str, Any]:
    """The fields a person may change on themselves, as a merge patch (empty phone or webhook: none)."""
    return {
        "email": commands.field(form, "email").strip(),
        "phone": commands.field(form, "phone").strip() or None,
        "timezone": commands.field(form, "timezone").strip(),
        "webhook_url": commands.field(form, "webhook_url").strip() or None,
        "working_hours": _hours(form),
    }


@router.post("/people/{person_id}/edit", response_class=HTMLResponse)
async def edit(person_id: Id, request: Request, me: SignedIn, form: Posted) -> Response:
    app = access.application(request)
    try:
        await run_in_threadpool(app.people_admin.update, person_id, _contact(form), me.actor, checked_person)
    except (Refused, ValidationError) as exc:
        filled = {key: commands.field(form, key) for key in form if key != "csrf"}
        explained = refusals.explained(exc)
        return await _person_page(request, me, person_id, status=explained.status, error=explained, filled=filled)
    return views.see_other(f"/people/{person_id}?done=edited")


@router.post("/people/{person_id}/deactivate", response_class=HTMLResponse)
async def deactivate(person_id: Id, request: Request, me: SignedIn, form: Posted) -> Response:
    try:
        done = await run_in_threadpool(access.application(request).people_admin.deactivate, person_id, me.actor)
    except Refused as exc:
        explained = refusals.explained(exc)
        return await _person_page(request, me, person_id, status=explained.status, error=explained)
    return await _person_page(request, me, person_id, deactivation=done)


@router.post("/people/{person_id}/activate", response_class=HTMLResponse)
async def activate(person_id: Id, request: Request, me: SignedIn, form: Posted) -> Response:
    try:
        await run_in_threadpool(access.application(request).people_admin.activate, person_id, me.actor)
    except Refused as exc:
        explained = refusals.explained(exc)
        return await _person_page(request, me, person_id, status=explained.status, error=explained)
    return views.see_other(f"/people/{person_id}?done=activated")


@router.post("/people/{person_id}/tokens/{token_id}/revoke", response_class=HTMLResponse)
async def revoke(person_id: Id, token_id: Id, request: Request, me: SignedIn, form: Posted) -> Response:
    try:
        await run_in_threadpool(access.application(request).people.revoke_token, token_id, me.actor)
    except Refused as exc:
        explained = refusals.explained(exc)
        return await _person_page(request, me, person_id, status=explained.status, error=explained)
    if token_id == _session_token_id(request):
        return views.see_other("/")  # the session itself was revoked: signed out
    return views.see_other(f"/people/{person_id}?done=revoked")


def _session_token_id(request: Request) -> str:
    """The id of the token the console's own session is (a token's id derives from its hash)."""
    me: access.Me = request.state.me
    return str(org.token_id_for(token_hash(me.session.secret)))


@router.post("/people", response_class=HTMLResponse)
async def register(request: Request, me: SignedIn, form: Posted) -> Response:
    """Admin: a new person (their first token comes from the API or the command line)."""
    fields = {
        "name": commands.field(form, "name").strip(),
        **_contact(form),
        "groups": [g.strip() for g in commands.field(form, "groups").split(",") if g.strip()],
    }
    app = access.application(request)
    try:
        body = PersonIn.model_validate(fields)
        person = await run_in_threadpool(app.people.register_person, body.model_dump(mode="json"), me.actor)
    except (Refused, ValidationError) as exc:
        explained = refusals.explained(exc)
        found, _ = await people_list.page(request.app.state.pool, people_list.Query(limit=SHOWN))
        filled = {key: commands.field(form, key) for key in form if key != "csrf"}
        return views.render(
            request, "people.html.j2", me.session, status=explained.status, people=found, q="", active=True,
            more=False, done=None, error=explained, filled=filled, days=DAYS,
        )  # fmt: skip
    return views.see_other(f"/people/{person.id}?done=registered")

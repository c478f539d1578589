"""GET /incidents/new: the declaration form, with "who do I call about …?" — the SME directory looked up
for an aspect (``/directory/lookup``, also fetched by the page's script as one types); POST declares it
through the same use case as the API (anyone signed in may declare, R02)."""

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.incident.application import IncidentApplication
from services.incident.console import access, commands, people_lookup, refusals, views
from services.incident.console.access import Posted, SignedIn
from services.incident.console.incident_view import Names, level_words
from services.incident.errors import Refused
from services.incident.organisation_app import nearest_aspects
from services.incident.schemas import DeclareIn

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Lookup:
    """Who is called about an aspect: its SMEs in the order they are paged, or the catch-all."""

    aspect: str
    known: bool
    smes: list[str] = field(default_factory=list)
    catch_all: str | None = None
    did_you_mean: list[str] = field(default_factory=list)


def lookup(app: IncidentApplication, aspect: str) -> Lookup | None:
    aspect = aspect.strip()
    if not aspect:
        return None
    directory, name = app.organisation.directory(), Names(app)
    catch_all = app.organisation.process()[1].get("catch_all_sme")
    if aspect in directory:
        return Lookup(aspect, True, [name(p) for p in directory[aspect]], catch_all and name(catch_all))
    return Lookup(aspect, False, [], catch_all and name(catch_all), nearest_aspects(aspect, directory))


def _form_context(app: IncidentApplication) -> dict[str, Any]:
    _, document = app.organisation.process()
    words = level_words(document)
    levels = [(lv["level"], words(lv["level"]), lv.get("description", "")) for lv in document.get("levels", [])]
    return {"levels": levels, "aspects": sorted(app.organisation.directory())}


async def _render(
    request: Request, me: access.Me, status: int = 200, filled: dict[str, str] | None = None, error: Any = None
) -> HTMLResponse:
    app = access.application(request)
    filled = filled or {}
    found = await run_in_threadpool(lookup, app, filled.get("aspect", ""))
    context = await run_in_threadpool(_form_context, app)
    people = await people_lookup.choices(request.app.state.pool)
    return views.render(
        request, "declare.html.j2", me.session, status=status, filled=filled, error=error, lookup=found,
        people=people, **context,
    )  # fmt: skip


@router.get("/incidents/new", response_class=HTMLResponse)
async def declaration_form(request: Request, me: SignedIn) -> HTMLResponse:
    return await _render(request, me, filled={"aspect": request.query_params.get("aspect", "")})


@router.get("/directory/lookup", response_class=HTMLResponse)
async def who_to_call(request: Request, me: SignedIn) -> HTMLResponse:
    """The lookup alone, for the declaration page's script."""
    found = await run_in_threadpool(lookup, access.application(request), request.query_params.get("aspect", ""))
    return views.render(request, "lookup.html.j2", me.session, lookup=found)


@router.post("/incidents/new", response_class=HTMLResponse)
async def declare(request: Request, me: SignedIn, form: Posted) -> Response:
    app = access.application(request)
    filled = {key: commands.field(form, key) for key in ("title", "description", "aspect", "severity", "manager")}
    try:
        manager = None
        if filled["manager"].strip():
            manager = await people_lookup.resolve(request.app.state.pool, app, filled["manager"], "manager")
        body = DeclareIn.model_validate({**filled, "manager": manager})
        incident = await run_in_threadpool(
            app.incidents.declare, body.title, body.description, body.aspect, body.severity, body.manager, me.actor
        )
    except (Refused, ValidationError) as exc:
        refused = refusals.explained(exc)
        return await _render(request, me, status=refused.status, filled=filled, error=refused)
    return views.see_other(f"/incidents/{incident.id}?done=declare#done")

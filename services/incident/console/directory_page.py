"""GET /directory: the SME directory — who is called about each aspect, in order — and its coverage gaps
(R10: aspects without an SME, aspects incidents were declared for that have none, the catch-all).
Admins set an aspect's SMEs here (POST /directory/aspects), through the same use case as the API."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from services.incident import readmodel
from services.incident.application import IncidentApplication
from services.incident.console import access, commands, people_lookup, refusals, views
from services.incident.console.access import Posted, SignedIn
from services.incident.console.incident_view import Names
from services.incident.errors import Refused
from services.incident.schemas import AspectIn
from shared.text import Aspect

router = APIRouter(include_in_schema=False)


def _directory(app: IncidentApplication, declared: set[str]) -> dict[str, Any]:
    name = Names(app)
    coverage = app.organisation.coverage(declared)
    aspects = [(aspect, [name(p) for p in smes]) for aspect, smes in sorted(app.organisation.directory().items())]
    catch_all = coverage["catch_all_sme"]
    return {"aspects": aspects, "coverage": coverage, "catch_all": catch_all and name(catch_all)}


async def _render(
    request: Request, me: access.Me, status: int = 200, error: Any = None, filled: dict[str, str] | None = None
) -> HTMLResponse:
    declared = await readmodel.declared_aspects(request.app.state.pool)
    context = await run_in_threadpool(_directory, access.application(request), declared)
    people = await people_lookup.choices(request.app.state.pool) if me.admin else []
    return views.render(
        request, "directory.html.j2", me.session, status=status, error=error, filled=filled or {}, people=people,
        done=request.query_params.get("done") == "aspect", **context,
    )  # fmt: skip


@router.get("/directory", response_class=HTMLResponse)
async def directory(request: Request, me: SignedIn) -> HTMLResponse:
    return await _render(request, me)


@router.post("/directory/aspects", response_class=HTMLResponse)
async def set_aspect(request: Request, me: SignedIn, form: Posted) -> Response:
    """An aspect's SMEs, one per line (a name or an email), in the order they are paged."""
    app, pool = access.application(request), request.app.state.pool
    filled = {key: commands.field(form, key) for key in ("aspect", "smes")}
    try:
        aspect = _aspect(filled["aspect"])
        lines = [line.strip() for line in filled["smes"].splitlines() if line.strip()]
        smes = [await people_lookup.resolve(pool, app, line, "smes") for line in lines]
        body = AspectIn.model_validate({"smes": smes})
        await run_in_threadpool(app.organisation.set_aspect, aspect, body.smes, me.actor)
    except (Refused, ValidationError) as exc:
        return await _render(request, me, status=refusals.explained(exc).status, error=refusals.explained(exc))
    return views.see_other("/directory?done=aspect")


class _AspectName(BaseModel):
    aspect: Aspect


def _aspect(value: str) -> str:
    return _AspectName.model_validate({"aspect": value.strip()}).aspect

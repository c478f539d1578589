"""HTTP: the SME directory and its coverage (R10)."""

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from services.incident import readmodel
from services.incident.deps import App, Caller
from services.incident.schemas import AspectIn, AspectOut, CoverageReport
from shared.problems import Problem
from shared.text import Aspect

router = APIRouter(prefix="/v1")


@router.get("/directory/aspects", tags=["directory"])
def list_aspects(app: App, actor: Caller) -> dict[str, list[AspectOut]]:
    aspects = app.organisation.directory()
    return {"aspects": [AspectOut(aspect=name, smes=smes) for name, smes in sorted(aspects.items())]}


@router.get("/directory/aspects/{aspect}", response_model=AspectOut, tags=["directory"])
def get_aspect(aspect: Aspect, app: App, actor: Caller):
    aspects = app.organisation.directory()
    if aspect not in aspects:
        raise Problem(404, f"no aspect {aspect!r} in the directory", rule="R10")
    return AspectOut(aspect=aspect, smes=aspects[aspect])


@router.put("/directory/aspects/{aspect}", response_model=AspectOut, tags=["directory"])
def set_aspect(aspect: Aspect, body: AspectIn, app: App, actor: Caller):
    smes = app.organisation.set_aspect(aspect, body.smes, actor)
    return AspectOut(aspect=aspect, smes=smes)


@router.get("/directory/coverage", response_model=CoverageReport, tags=["directory"])
async def coverage(request: Request, app: App, actor: Caller):
    """R10: the aspects without an SME, in the directory and among declared incidents (eventually
    consistent: a projection of the incident stream), and whether a catch-all is set."""
    declared = await readmodel.declared_aspects(request.app.state.pool)
    return await run_in_threadpool(app.organisation.coverage, declared)

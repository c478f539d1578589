"""HTTP: the SME directory and its coverage (R10)."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool

from services.incident import readmodel
from services.incident.api.threaded import in_thread
from services.incident.deps import App, Caller
from services.incident.schemas import AspectIn, AspectList, AspectOut, CoverageReport
from shared.openapi import problems
from shared.problems import Problem
from shared.text import Aspect

router = APIRouter(prefix="/v1", tags=["directory"])

AspectName = Annotated[Aspect, Path(description="The aspect's name (payments)")]


@router.get("/directory/aspects", response_model=AspectList, summary="List the SME directory")
@in_thread
def list_aspects(app: App, actor: Caller):
    """Every aspect of the company's systems and its SMEs, in the order they are paged (R10). Anyone
    signed in may read it: someone declaring looks up the aspect, not a person (R02)."""
    aspects = app.organisation.directory()
    return {"aspects": [AspectOut(aspect=name, smes=smes) for name, smes in sorted(aspects.items())]}


@router.get(
    "/directory/aspects/{aspect}",
    response_model=AspectOut,
    summary="Read an aspect's SMEs",
    responses=problems(404, said={404: "No such aspect in the directory (R10)"}),
)
@in_thread
def get_aspect(aspect: AspectName, app: App, actor: Caller):
    """The aspect's SMEs, in the order they are paged (R10)."""
    aspects = app.organisation.directory()
    if aspect not in aspects:
        raise Problem(404, f"no aspect {aspect!r} in the directory", rule="R10")
    return AspectOut(aspect=aspect, smes=aspects[aspect])


@router.put(
    "/directory/aspects/{aspect}",
    response_model=AspectOut,
    summary="Set an aspect's SMEs",
    responses=problems(
        403, 409, said={403: "Admins only", 409: "An SME named is deactivated, or another change was recorded first"}
    ),
)
@in_thread
def set_aspect(aspect: AspectName, body: AspectIn, app: App, actor: Caller):
    """Admin: the aspect's SMEs, in the order they are paged (R10), all registered and active; the aspect is
    created if new. An empty list leaves it without SMEs: its incidents page the catch-all."""
    smes = app.organisation.set_aspect(aspect, body.smes, actor)
    return AspectOut(aspect=aspect, smes=smes)


@router.get(
    "/directory/coverage",
    response_model=CoverageReport,
    summary="Read the directory's coverage",
    responses=problems(404, said={404: "No process is published yet"}),
)
async def get_coverage(request: Request, app: App, actor: Caller):
    """R10: the aspects without an SME, in the directory and among declared incidents (eventually
    consistent: a projection of the incident stream), and whether a catch-all is set."""
    declared = await readmodel.declared_aspects(request.app.state.pool)
    return await run_in_threadpool(app.organisation.coverage, declared)

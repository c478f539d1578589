"""HTTP: the process (admins publish versions) and a post-mortem's refinement of it (R17).

Two routers, because the refinement's path is listed after the directory's and the reports' in the
API document: ``router`` (GET and PUT /v1/process) and ``refinement_router``."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from services.incident import action_items
from services.incident.deps import App, Caller, Reply
from services.incident.schemas import RefinementIn
from shared.problems import Problem
from shared.process.document import ProcessDocument
from shared.text import Line

router = APIRouter(prefix="/v1")
refinement_router = APIRouter(prefix="/v1")
# R17: how long a refinement waits for its action item to come down the post-mortem stream.
ITEM_WAIT_SECONDS = 5.0


class ProcessOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    version: int


class ProcessIn(ProcessDocument):
    # Read-only: a previous answer's, ignored.
    warnings: list[Annotated[str, Line(1000)]] | None = Field(default=None, max_length=100)


class PublishedProcess(ProcessOut):
    warnings: list[str]


@router.get("/process", response_model=ProcessOut, tags=["process"])
def get_process(app: App, actor: Caller, version: Annotated[int | None, Query(ge=1)] = None):
    number, document = app.organisation.process(version)
    return {"version": number, **document}


@router.put("/process", response_model=PublishedProcess, tags=["process"])
def put_process(body: ProcessIn, app: App, actor: Caller):
    number, document = app.organisation.put_process(body, actor)
    return {"version": number, **document, "warnings": body.warnings_found()}


async def _recorded_item(request: Request, body: RefinementIn) -> dict:
    """The action item as the post-mortem stream told it, waited for a little; else the refusal."""
    pool = request.app.state.pool
    recorded = await action_items.waited(pool, body.postmortem, body.action_item, ITEM_WAIT_SECONDS)
    if recorded is not None:
        return recorded
    elsewhere = await action_items.recorded_elsewhere(pool, body.postmortem, body.action_item, body.change)
    if elsewhere is not None:
        raise Problem(
            409,
            f"action item {body.action_item} with this change is recorded on post-mortem "
            f"{elsewhere}, not on {body.postmortem}; nothing was changed",
            rule="R17",
        )
    raise Problem(
        503,
        f"action item {body.action_item} of post-mortem {body.postmortem} has not reached this "
        "service yet; nothing was changed, retry shortly",
        rule="R17",
        headers={"Retry-After": str(int(ITEM_WAIT_SECONDS))},
    )


@refinement_router.post("/process/refinements", response_model=PublishedProcess, tags=["process"])
async def apply_refinement(body: RefinementIn, request: Request, app: App, actor: Caller):
    """R17: a post-mortem's process-refinement action item, applied at once as a new process version citing
    it — only as recorded on the post-mortem, with exactly its change, once. An item this service has not
    seen yet is waited for, then answered 503 with Retry-After."""
    await run_in_threadpool(app.refinements.may_refine, body.postmortem, actor)
    recorded = await _recorded_item(request, body)

    def published(number: int, document: dict) -> dict:
        warnings = ProcessDocument.model_validate(document).warnings_found()
        return {
            "version": number,
            **document,
            "warnings": warnings,
            "cites_postmortem": body.postmortem,
            "cites_action_item": body.action_item,
        }

    reply = Reply.to(200)  # keyed (F10): the answer is recorded in the events' commit
    number, document = await run_in_threadpool(
        app.refinements.apply_refinement,
        body.postmortem,
        body.action_item,
        body.change,
        recorded,
        actor,
        reply and (lambda n, d: reply(PublishedProcess(**published(n, d)))),
    )
    return reply.response if reply else published(number, document)

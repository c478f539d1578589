"""HTTP: the process (admins publish versions) and a post-mortem's refinement of it (R17).

Two routers, because the refinement's path is listed after the directory's and the reports' in the
API document: ``router`` (GET and PUT /v1/process) and ``refinement_router``."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from services.incident import action_items, examples
from services.incident.api.threaded import in_thread
from services.incident.application import IncidentApplication
from services.incident.deps import App, Caller, Reply
from services.incident.schemas import RefinementIn, example
from shared.openapi import answered_as, problems
from shared.problems import Problem
from shared.process import secrets
from shared.process.document import ProcessDocument
from shared.text import Line

router = APIRouter(prefix="/v1", tags=["process"])
refinement_router = APIRouter(prefix="/v1", tags=["process"])
# R17: how long a refinement waits for its action item to come down the post-mortem stream.
ITEM_WAIT_SECONDS = 5.0


class ProcessOut(BaseModel):
    """A process version as stored, passed through (documented as ``ProcessView``)."""

    model_config = ConfigDict(extra="allow")
    version: int = Field(description="The version number, from 1")


class ProcessIn(ProcessDocument):
    """A process document to publish (docs/process.md): what GET answers may be sent back as it is."""

    model_config = example(examples.PROCESS_IN)
    # Read-only: a previous answer's, ignored.
    warnings: list[Annotated[str, Line(1000)]] | None = Field(
        default=None, max_length=100, description="Read-only: a previous answer's warnings; ignored when written"
    )


class PublishedProcess(ProcessOut):
    """A process version just published, as stored, passed through (documented as ``PublishedView``)."""

    warnings: list[str] = Field(description="What the document may have wrong, in words (R09, R10)")


class ProcessView(ProcessDocument):
    """A process version: its levels and their policies, and the limits on people (docs/process.md)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [examples.PROCESS]})
    version: int = Field(description="The version number, from 1")


class PublishedView(ProcessView):
    """A process version just published, and what it may have wrong."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.PUBLISHED_PROCESS]})
    warnings: list[str] = Field(description="What the document may have wrong, in words (R09, R10)")
    cites_postmortem: str | None = Field(None, description="A refinement's post-mortem (R17)")
    cites_action_item: int | None = Field(None, description="A refinement's action item on it (R17)")


@router.get(
    "/process",
    response_model=ProcessOut,
    summary="Read the process",
    responses=answered_as(200, ProcessView) | problems(404, said={404: "No such version, or no process yet"}),
)
@in_thread
def get_process(
    app: App,
    actor: Caller,
    version: Annotated[int | None, Query(ge=1, description="This version rather than the current one")] = None,
):
    """The process in force, or an earlier version: every version is kept, and each incident follows the one
    it was declared under (R17). Anyone signed in may read it; its webhook URLs (`issue_tracker_webhook`, each
    level's `chat_webhook_url`) are secrets, shown only to admins — others read `***`, which a PUT takes as
    the value it stands for."""
    number, document = app.organisation.process(version)
    return {"version": number, **_shown(app, document, actor.admin)}


def _shown(app: IncidentApplication, document: dict, admin: bool) -> dict:
    """A stored version as the caller reads it: its secrets opened for an admin, masked for anyone else (S11)."""
    return app.organisation.opened(document) if admin else secrets.masked(document)


@router.put(
    "/process",
    response_model=PublishedProcess,
    summary="Publish a process version",
    responses=answered_as(200, PublishedView)
    | problems(
        403,
        409,
        said={403: "Admins only", 409: "The catch_all_sme is deactivated, or another version was published first"},
    ),
)
@in_thread
def publish_process(body: ProcessIn, app: App, actor: Caller):
    """Admin: publish the whole document as a new version (the same document again publishes nothing).
    Incidents open now keep their version; those declared afterwards follow this one. `warnings` says what
    may be wrong without refusing it: more than five levels (R09), no `catch_all_sme` (R10)."""
    number, document = app.organisation.put_process(body, actor)
    return {"version": number, **_shown(app, document, True), "warnings": body.warnings_found()}


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


@refinement_router.post(
    "/process/refinements",
    response_model=PublishedProcess,
    summary="Apply a process refinement",
    responses=answered_as(200, PublishedView)
    | problems(
        403,
        404,
        409,
        503,
        said={
            403: "Only the cited incident's managers (past ones too) and admins (R17)",
            404: "No such post-mortem (incident)",
            409: "Not a process refinement, not its recorded change, or applied already (R17)",
            503: "The action item has not reached this service yet: retry after Retry-After (R17); or the "
            "database is unavailable",
        },
    ),
)
async def apply_process_refinement(body: RefinementIn, request: Request, app: App, actor: Caller):
    """R17: a post-mortem's process-refinement action item, applied at once as a new process version citing
    it — only as recorded on the post-mortem, with exactly its change, once. An item this service has not
    seen yet is waited for, then answered 503 with Retry-After."""
    await run_in_threadpool(app.refinements.may_refine, body.postmortem, actor)
    recorded = await _recorded_item(request, body)

    def published(number: int, document: dict, admin: bool) -> dict:
        warnings = ProcessDocument.model_validate(_shown(app, document, True)).warnings_found()
        return {
            "version": number,
            **_shown(app, document, admin),  # an incident's manager may apply it
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
        # Recorded for retries with the secrets masked, as anyone not an admin reads them (S11).
        reply and (lambda n, d: reply(PublishedProcess(**published(n, d, False)))),
    )
    return published(number, document, actor.admin)

"""HTTP for the organisation: people, tokens, the process and the SME directory."""
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from services.incident import action_items, readmodel
from services.incident.deps import App, Caller, Reply, translated
from shared.process.document import ProcessDocument
from services.incident.schemas import (
    AspectIn,
    AspectOut,
    CoverageReport,
    PersonIn,
    PersonOut,
    RefinementIn,
    ReportIn,
    TokenIn,
)
from shared.problems import Problem
from shared.text import Aspect, Id, Line

router = APIRouter(prefix="/v1")
# R17: how long a refinement waits for its action item to come down the post-mortem stream.
ITEM_WAIT_SECONDS = 5.0


def _person_out(person) -> PersonOut:
    return PersonOut(id=str(person.id), name=person.name, email=person.email, timezone=person.timezone,
                     phone=person.phone, groups=person.groups, working_hours=person.working_hours,
                     waking_hours=person.waking_hours, webhook_url=person.webhook_url, admin=person.admin)


@router.post("/people", status_code=status.HTTP_201_CREATED, response_model=PersonOut, tags=["people"])
def register_person(body: PersonIn, app: App, actor: Caller, response: Response):
    reply = Reply.to(201)  # keyed (F10): the answer is recorded in the events' commit
    with translated():
        person = app.register_person(body.model_dump(mode="json"), actor, answer=reply and (
            lambda person: reply(_person_out(person), {"Location": f"/v1/people/{person.id}"})))
    if reply:
        return reply.response
    response.headers["Location"] = f"/v1/people/{person.id}"
    return _person_out(person)


@router.get("/people/{person_id}", response_model=PersonOut, tags=["people"])
def get_person(person_id: Id, app: App, actor: Caller):
    with translated():
        return _person_out(app.person(person_id))


WITHHELD = ("the token was issued by the first request with this Idempotency-Key; its secret is shown only "
            "in that answer and is stored nowhere: if it was lost, revoke this token (DELETE /v1/tokens/{id}) "
            "and issue a new one")


class IssuedToken(BaseModel):
    id: str
    token: str | None = Field(description="the secret: shown in this answer only, stored hashed; null in the "
                                          "replayed answer to a retry with the same Idempotency-Key (S11)")
    detail: str | None = Field(default=None, description="why `token` is null, in a replayed answer")


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=IssuedToken, tags=["tokens"])
def issue_token(body: TokenIn, app: App, actor: Caller):
    """Issue a token to a person; the secret is in this answer only (S1). A retry with the same
    Idempotency-Key is answered 201 with the same token id, `token: null` and a `detail` saying so: the
    secret is never kept, not even for replaying (S11), and issuing another would leave an unknown live
    token — revoke the id and issue a new one if the first answer was lost."""
    reply = Reply.to(201)
    with translated():
        token_id, secret = app.issue_token(body.person_id, actor, answer=reply and (
            lambda token_id: reply(IssuedToken(id=token_id, token=None, detail=WITHHELD.format(id=token_id)))))
    # The answer recorded for retries withholds the secret; this one, the first, shows it.
    return IssuedToken(id=token_id, token=secret)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["tokens"])
def revoke_token(token_id: Id, app: App, actor: Caller):
    with translated():
        app.revoke_token(token_id, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class ProcessOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    version: int


class ProcessIn(ProcessDocument):
    warnings: list[Line(1000)] | None = Field(default=None, max_length=100)  # read-only: a previous answer's, ignored


class PublishedProcess(ProcessOut):
    warnings: list[str]


@router.get("/process", response_model=ProcessOut, tags=["process"])
def get_process(app: App, actor: Caller, version: Annotated[int | None, Query(ge=1)] = None):
    with translated():
        number, document = app.process(version)
    return {"version": number, **document}


@router.put("/process", response_model=PublishedProcess, tags=["process"])
def put_process(body: ProcessIn, app: App, actor: Caller):
    with translated():
        number, document = app.put_process(body, actor)
    return {"version": number, **document, "warnings": body.warnings_found()}


@router.get("/directory/aspects", tags=["directory"])
def list_aspects(app: App, actor: Caller) -> dict[str, list[AspectOut]]:
    with translated():
        aspects = app.directory()
    return {"aspects": [AspectOut(aspect=name, smes=smes) for name, smes in sorted(aspects.items())]}


@router.get("/directory/aspects/{aspect}", response_model=AspectOut, tags=["directory"])
def get_aspect(aspect: Aspect, app: App, actor: Caller):
    with translated():
        aspects = app.directory()
    if aspect not in aspects:
        raise Problem(404, f"no aspect {aspect!r} in the directory", rule="R10")
    return AspectOut(aspect=aspect, smes=aspects[aspect])


@router.put("/directory/aspects/{aspect}", response_model=AspectOut, tags=["directory"])
def set_aspect(aspect: Aspect, body: AspectIn, app: App, actor: Caller):
    with translated():
        smes = app.set_aspect(aspect, body.smes, actor)
    return AspectOut(aspect=aspect, smes=smes)


@router.get("/directory/coverage", response_model=CoverageReport, tags=["directory"])
async def coverage(request: Request, app: App, actor: Caller):
    """R10: the aspects without an SME, in the directory and among declared incidents (eventually
    consistent: a projection of the incident stream), and whether a catch-all is set."""
    declared = await readmodel.declared_aspects(request.app.state.pool)
    with translated():
        return await run_in_threadpool(app.coverage, declared)


@router.post("/reports", status_code=status.HTTP_202_ACCEPTED, tags=["reports"])
def file_minor_report(body: ReportIn, app: App, actor: Caller) -> dict[str, str]:
    """R12: too small for the incident process — recorded, published, forwarded to the issue tracker."""
    reply = Reply.to(202)  # keyed (F10): the answer is recorded in the events' commit
    with translated():
        report = app.file_report(body.title, body.description, body.aspect, actor,
                                 answer=reply and (lambda report: reply({"id": str(report.id)})))
    return reply.response if reply else {"id": str(report.id)}


@router.post("/process/refinements", response_model=PublishedProcess, tags=["process"])
async def apply_refinement(body: RefinementIn, request: Request, app: App, actor: Caller):
    """R17: a post-mortem's process-refinement action item, applied at once as a new process version citing
    it — only as recorded on the post-mortem, with exactly its change, once. An item this service has not
    seen yet is waited for, then answered 503 with Retry-After."""
    with translated():
        await run_in_threadpool(app.may_refine, body.postmortem, actor)
    pool = request.app.state.pool
    recorded = await action_items.waited(pool, body.postmortem, body.action_item, ITEM_WAIT_SECONDS)
    if recorded is None:
        elsewhere = await action_items.recorded_elsewhere(pool, body.postmortem, body.action_item, body.change)
        if elsewhere is not None:
            raise Problem(409, f"action item {body.action_item} with this change is recorded on post-mortem "
                               f"{elsewhere}, not on {body.postmortem}; nothing was changed", rule="R17")
        raise Problem(503, f"action item {body.action_item} of post-mortem {body.postmortem} has not reached this "
                           "service yet; nothing was changed, retry shortly", rule="R17",
                      headers={"Retry-After": str(int(ITEM_WAIT_SECONDS))})
    def published(number: int, document: dict) -> dict:
        warnings = ProcessDocument.model_validate(document).warnings_found()
        return {"version": number, **document, "warnings": warnings, "cites_postmortem": body.postmortem,
                "cites_action_item": body.action_item}

    reply = Reply.to(200)  # keyed (F10): the answer is recorded in the events' commit
    with translated():
        number, document = await run_in_threadpool(app.apply_refinement, body.postmortem, body.action_item,
                                                   body.change, recorded, actor,
                                                   reply and (lambda n, d: reply(PublishedProcess(**published(n, d)))))
    return reply.response if reply else published(number, document)

"""HTTP: every command on an incident. Each answers 200 with the whole incident (or a problem)."""

from collections.abc import Callable

from fastapi import APIRouter, Response

from services.incident.api.answers import answer, keyed_answer
from services.incident.deps import App, Caller, IfMatch, Reply
from services.incident.schemas import (
    BriefingIn,
    EmptyIn,
    FindingsIn,
    ForceHandoverIn,
    HandoverIn,
    IncidentOut,
    PersonRefIn,
    PublicUpdateIn,
    QuestionIn,
    ReopenIn,
    ResolveIn,
    SeverityIn,
    SeverityInputIn,
    StatusUpdateIn,
)
from shared.text import Id

router = APIRouter(prefix="/v1/incidents/{incident_id}", tags=["incident commands"])


def _run(app, actor, response: Response, incident_id: str, if_match: int | None, change: Callable):
    if (reply := Reply.to(200)) is None:
        incident = app.incidents.command(incident_id, if_match, actor, change)
        return answer(app, response, incident)
    # Keyed (F10): the answer is rendered before the save, which records it with the events.
    app.incidents.command(incident_id, if_match, actor, change, lambda incident: keyed_answer(app, reply, incident))
    return reply.response


def _people(app, field: str, *people: str) -> None:
    app.people.require_people(field, *people)


@router.post("/acknowledge", response_model=IncidentOut)
def acknowledge(incident_id: Id, app: App, actor: Caller, response: Response, if_match: IfMatch):
    """The paged person acknowledges their page (R11)."""
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.acknowledge(ctx))


@router.post("/workers", response_model=IncidentOut)
def add_worker(incident_id: Id, body: PersonRefIn, app: App, actor: Caller, response: Response, if_match: IfMatch):
    """The manager never works on the problem (R03); a tired worker is flagged (R19)."""
    _people(app, "person", body.person)

    def change(incident, ctx):
        worked, fresh = app.timekeeping.worker_freshness(body.person, incident)
        incident.add_worker(body.person, worked, fresh, ctx)

    return _run(app, actor, response, incident_id, if_match, change)


@router.delete("/workers/{person}", response_model=IncidentOut)
def remove_worker(incident_id: Id, person: Id, app: App, actor: Caller, response: Response, if_match: IfMatch):
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.remove_worker(person, ctx))


def _membership(role: str, path: str) -> None:
    @router.post(f"/{path}", response_model=IncidentOut, name=f"add_{role}")
    def add(incident_id: Id, body: PersonRefIn, app: App, actor: Caller, response: Response, if_match: IfMatch):
        _people(app, "person", body.person)
        return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.add_member(role, body.person, ctx))

    @router.delete(f"/{path}/{{person}}", response_model=IncidentOut, name=f"remove_{role}")
    def remove(incident_id: Id, person: Id, app: App, actor: Caller, response: Response, if_match: IfMatch):
        return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.remove_member(role, person, ctx))


_membership("sme", "smes")
_membership("observer", "observers")


@router.put("/pr-manager", response_model=IncidentOut)
def assign_pr_manager(
    incident_id: Id, body: PersonRefIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    _people(app, "person", body.person)
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.assign_pr_manager(body.person, ctx))


@router.post("/handover", response_model=IncidentOut)
def offer_handover(incident_id: Id, body: HandoverIn, app: App, actor: Caller, response: Response, if_match: IfMatch):
    """The manager offers the role; they stay in charge until it is accepted (R04)."""
    _people(app, "to", body.to)
    return _run(
        app, actor, response, incident_id, if_match, lambda i, ctx: i.offer_handover(body.to, body.briefing, ctx)
    )


@router.post("/handover/accept", response_model=IncidentOut)
def accept_handover(incident_id: Id, app: App, actor: Caller, response: Response, if_match: IfMatch):
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.accept_handover(ctx))


@router.post("/handover/decline", response_model=IncidentOut)
def decline_handover(incident_id: Id, app: App, actor: Caller, response: Response, if_match: IfMatch):
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.decline_handover(ctx))


@router.post("/handover/force", response_model=IncidentOut)
def force_handover(
    incident_id: Id, body: ForceHandoverIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """An admin hands the role over in one step, recording why (R04)."""
    _people(app, "to", body.to)
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.force_handover(body.to, body.reason, ctx))


@router.post("/severity-input", response_model=IncidentOut)
def give_severity_input(
    incident_id: Id, body: SeverityInputIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    return _run(
        app, actor, response, incident_id, if_match, lambda i, ctx: i.give_severity_input(body.level, body.comment, ctx)
    )


@router.post("/severity", response_model=IncidentOut)
def change_severity(incident_id: Id, body: SeverityIn, app: App, actor: Caller, response: Response, if_match: IfMatch):
    """Only the manager changes the level, with a reason, citing the input considered (R13)."""
    return _run(
        app,
        actor,
        response,
        incident_id,
        if_match,
        lambda i, ctx: i.change_severity(body.level, body.reason, body.considered_input, ctx),
    )


@router.post("/status-requests", response_model=IncidentOut)
def request_status(
    incident_id: Id, app: App, actor: Caller, response: Response, if_match: IfMatch, body: EmptyIn | None = None
):
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.request_status(ctx))


@router.post("/status-updates", response_model=IncidentOut)
def post_status_update(
    incident_id: Id, body: StatusUpdateIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """A worker's update has all five parts, none blank (R06)."""
    return _run(
        app, actor, response, incident_id, if_match, lambda i, ctx: i.post_status_update(body.model_dump(), ctx)
    )


@router.post("/observer-briefings", response_model=IncidentOut)
def brief_observers(incident_id: Id, body: BriefingIn, app: App, actor: Caller, response: Response, if_match: IfMatch):
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.brief_observers(body.summary, ctx))


@router.post("/public-updates", response_model=IncidentOut)
def post_public_update(
    incident_id: Id, body: PublicUpdateIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.post_public_update(body.message, ctx))


@router.post("/affected-info-requests", response_model=IncidentOut)
def request_affected_info(
    incident_id: Id, body: QuestionIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.request_affected_info(body.question, ctx))


@router.post("/affected-info-reports", response_model=IncidentOut)
def report_affected_info(
    incident_id: Id, body: FindingsIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.report_affected_info(body.findings, ctx))


@router.post("/checklist/{step}/done", response_model=IncidentOut)
def complete_checklist_step(incident_id: Id, step: Id, app: App, actor: Caller, response: Response, if_match: IfMatch):
    """Follow the process exactly: each step of the current level, done by the manager (R14)."""
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.complete_step(step, ctx))


@router.post("/resolve", response_model=IncidentOut)
def resolve(incident_id: Id, body: ResolveIn, app: App, actor: Caller, response: Response, if_match: IfMatch):
    """Resolving needs the resolution and the test plan that verified the fix (R15)."""
    return _run(
        app, actor, response, incident_id, if_match, lambda i, ctx: i.resolve(body.resolution, body.test_plan, ctx)
    )


@router.post("/reopen", response_model=IncidentOut)
def reopen(incident_id: Id, body: ReopenIn, app: App, actor: Caller, response: Response, if_match: IfMatch):
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.reopen(body.reason, ctx))

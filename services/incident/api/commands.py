"""HTTP: every command on an incident. Each answers 200 with the whole incident (or a problem), its
version as the ETag; each takes an optional If-Match (412 when the incident has moved on)."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from services.incident.api.answers import answer, keyed_answer
from services.incident.api.threaded import in_thread
from services.incident.deps import App, Caller, IfMatch, Reply
from services.incident.incident_schemas import IncidentOut
from services.incident.schemas import (
    BriefingIn,
    EmptyIn,
    FindingsIn,
    ForceHandoverIn,
    HandoverIn,
    PersonRefIn,
    PublicUpdateIn,
    QuestionIn,
    ReopenIn,
    ResolveIn,
    SeverityIn,
    SeverityInputIn,
    StatusUpdateIn,
)
from shared.openapi import problems, with_headers
from shared.text import Id

router = APIRouter(prefix="/v1/incidents/{incident_id}", tags=["incident commands"])

IncidentId = Annotated[Id, Path(description="The incident's id")]
Person = Annotated[Id, Path(description="The person's id")]
# What every command answers, and how it may be refused (docs/process.md, "Who may do what").
ANSWERED: dict[str, Any] = {
    "response_model": IncidentOut,
    "responses": problems(
        403,
        404,
        409,
        said={
            403: 'Your role on the incident may not do this (docs/process.md, "Who may do what")',
            404: "No such incident",
            409: "The incident's state or a rule of the process forbids it now (named in `rule`)",
        },
    )
    | with_headers(
        200, "ETag", said={"ETag": 'The incident\'s version, quoted ("4"): the If-Match of the next command'}
    ),
}


def _run(app, actor, response: Response, incident_id: str, if_match: int | None, change: Callable):
    if (reply := Reply.to(200)) is None:
        incident = app.incidents.command(incident_id, if_match, actor, change)
        return answer(app, response, incident)
    # Keyed (F10): the answer is rendered before the save, which records it with the events.
    app.incidents.command(incident_id, if_match, actor, change, lambda incident: keyed_answer(app, reply, incident))
    return reply.response


def _people(app, field: str, *people: str) -> None:
    app.people.require_people(field, *people)


@router.post("/acknowledge", summary="Acknowledge the page", **ANSWERED)
@in_thread
def acknowledge_page(incident_id: IncidentId, app: App, actor: Caller, response: Response, if_match: IfMatch):
    """The paged person acknowledges their page (R11): escalation stops. Acknowledging a page answered
    already changes nothing."""
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.acknowledge(ctx))


@router.post("/workers", summary="Add a worker", **ANSWERED)
@in_thread
def add_worker(
    incident_id: IncidentId, body: PersonRefIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """The manager or an admin adds someone to work on the problem. The manager never works on it (R03);
    a worker who is not fresh is flagged in `due.tired_workers` (R19)."""
    _people(app, "person", body.person)

    def change(incident, ctx):
        worked, fresh = app.timekeeping.worker_freshness(body.person, incident)
        incident.add_worker(body.person, worked, fresh, ctx)

    return _run(app, actor, response, incident_id, if_match, change)


@router.delete("/workers/{person}", summary="Remove a worker", **ANSWERED)
@in_thread
def remove_worker(
    incident_id: IncidentId, person: Person, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """The manager or an admin releases a worker from the incident."""
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.remove_worker(person, ctx))


def _membership(role: str, path: str, title: str, why: str) -> None:
    added = f"The manager or an admin adds {title} to the incident: {why}"

    @router.post(f"/{path}", name=f"add_{role}", summary=f"Add {title}", description=added, **ANSWERED)
    @in_thread
    def add(incident_id: IncidentId, body: PersonRefIn, app: App, actor: Caller, response: Response, if_match: IfMatch):
        _people(app, "person", body.person)
        return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.add_member(role, body.person, ctx))

    removed = f"The manager or an admin removes {title} from the incident."

    @router.delete(
        f"/{path}/{{person}}", name=f"remove_{role}", summary=f"Remove {title}", description=removed, **ANSWERED
    )
    @in_thread
    def remove(incident_id: IncidentId, person: Person, app: App, actor: Caller, response: Response, if_match: IfMatch):
        return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.remove_member(role, person, ctx))


_membership("sme", "smes", "an SME", "someone who knows the aspect, to advise (R01).")
_membership("observer", "observers", "an observer", "kept informed, changing nothing else (R07).")


@router.put("/pr-manager", summary="Assign the PR manager", **ANSWERED)
@in_thread
def assign_pr_manager(
    incident_id: IncidentId, body: PersonRefIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """The manager or an admin assigns who speaks to customers (R08). The PR manager is never the manager
    or a worker; someone with a handover offer pending is refused until it is answered."""
    _people(app, "person", body.person)
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.assign_pr_manager(body.person, ctx))


@router.post("/handover", summary="Offer the manager's role", **ANSWERED)
@in_thread
def offer_handover(
    incident_id: IncidentId, body: HandoverIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """The manager offers the role with a briefing; they stay in charge until it is accepted (R04). A new
    offer replaces the pending one."""
    _people(app, "to", body.to)
    return _run(
        app, actor, response, incident_id, if_match, lambda i, ctx: i.offer_handover(body.to, body.briefing, ctx)
    )


@router.post("/handover/accept", summary="Accept the handover", **ANSWERED)
@in_thread
def accept_handover(incident_id: IncidentId, app: App, actor: Caller, response: Response, if_match: IfMatch):
    """The person offered the role takes it (R04): they manage from now on, and leave the workers."""
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.accept_handover(ctx))


@router.post("/handover/decline", summary="Decline the handover", **ANSWERED)
@in_thread
def decline_handover(incident_id: IncidentId, app: App, actor: Caller, response: Response, if_match: IfMatch):
    """The person offered the role declines it (R04); the manager stays in charge and is told."""
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.decline_handover(ctx))


@router.post("/handover/force", summary="Force a handover", **ANSWERED)
@in_thread
def force_handover(
    incident_id: IncidentId, body: ForceHandoverIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """An admin hands the role over in one step, recording why (R04): for a manager who is unreachable."""
    _people(app, "to", body.to)
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.force_handover(body.to, body.reason, ctx))


@router.post("/severity-input", summary="Give severity input", **ANSWERED)
@in_thread
def give_severity_input(
    incident_id: IncidentId, body: SeverityInputIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """An SME or an observer says which level they think fits, and why (R07); the manager decides (R13)."""
    return _run(
        app, actor, response, incident_id, if_match, lambda i, ctx: i.give_severity_input(body.level, body.comment, ctx)
    )


@router.post("/severity", summary="Change the severity", **ANSWERED)
@in_thread
def change_severity(
    incident_id: IncidentId, body: SeverityIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """Only the manager changes the level, with a reason, citing the input considered (R13). The new level's
    policy applies from now on: its checklist, its updates, its observers."""
    return _run(
        app,
        actor,
        response,
        incident_id,
        if_match,
        lambda i, ctx: i.change_severity(body.level, body.reason, body.considered_input, ctx),
    )


@router.post("/status-requests", summary="Request a status update", **ANSWERED)
@in_thread
def request_status(
    incident_id: IncidentId,
    app: App,
    actor: Caller,
    response: Response,
    if_match: IfMatch,
    body: EmptyIn | None = None,
):
    """The manager calls for a status update from the workers (R06). The body may be left out."""
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.request_status(ctx))


@router.post("/status-updates", summary="Post a status update", **ANSWERED)
@in_thread
def post_status_update(
    incident_id: IncidentId, body: StatusUpdateIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """A worker's update has all five parts, none blank (R06); one 422 names every part missing. Updates
    are never edited: a correction is a new update."""
    return _run(
        app, actor, response, incident_id, if_match, lambda i, ctx: i.post_status_update(body.model_dump(), ctx)
    )


@router.post("/observer-briefings", summary="Brief the observers", **ANSWERED)
@in_thread
def brief_observers(
    incident_id: IncidentId, body: BriefingIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """The manager tells the observers where things stand (R07)."""
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.brief_observers(body.summary, ctx))


@router.post("/public-updates", summary="Post a public update", **ANSWERED)
@in_thread
def post_public_update(
    incident_id: IncidentId, body: PublicUpdateIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """The PR manager tells customers where things stand (R08), as often as the level says."""
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.post_public_update(body.message, ctx))


@router.post("/affected-info-requests", summary="Ask about affected users", **ANSWERED)
@in_thread
def request_affected_info(
    incident_id: IncidentId, body: QuestionIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """The manager asks the PR manager to gather information from affected users (R08)."""
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.request_affected_info(body.question, ctx))


@router.post("/affected-info-reports", summary="Report on affected users", **ANSWERED)
@in_thread
def report_affected_info(
    incident_id: IncidentId, body: FindingsIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """The PR manager reports what affected users said (R08)."""
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.report_affected_info(body.findings, ctx))


@router.post("/checklist/{step}/done", summary="Complete a checklist step", **ANSWERED)
@in_thread
def complete_checklist_step(
    incident_id: IncidentId,
    step: Annotated[Id, Path(description="The step's id in the current level's checklist")],
    app: App,
    actor: Caller,
    response: Response,
    if_match: IfMatch,
):
    """The manager marks a step of the level in force done (R14): by whom and when is recorded; a step
    done once counts at every level."""
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.complete_step(step, ctx))


@router.post("/resolve", summary="Resolve the incident", **ANSWERED)
@in_thread
def resolve_incident(
    incident_id: IncidentId, body: ResolveIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """The manager resolves it with the resolution and the test plan that verified the fix created no new
    problem (R15). Publishing its post-mortem (R16) then closes it."""
    return _run(
        app, actor, response, incident_id, if_match, lambda i, ctx: i.resolve(body.resolution, body.test_plan, ctx)
    )


@router.post("/reopen", summary="Reopen the incident", **ANSWERED)
@in_thread
def reopen_incident(
    incident_id: IncidentId, body: ReopenIn, app: App, actor: Caller, response: Response, if_match: IfMatch
):
    """The manager reopens a resolved incident, saying why (R15); their tenure counts as it stands (R05).
    A closed incident refuses this, as every command."""
    return _run(app, actor, response, incident_id, if_match, lambda i, ctx: i.reopen(body.reason, ctx))

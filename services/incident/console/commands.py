"""The incident page's forms as commands: each form's fields checked exactly as the API checks its body
(the same request models, services/incident/schemas.py), and the change handed to the same use case the
API calls (``app.incidents.command``). The people a form names are found before (people_lookup.py):
``PEOPLE_FIELDS`` says which fields name one, and ``people`` holds their ids.

Pure of HTTP: ``command_for`` returns the change, the route runs it, and the page then says ``DONE``'s
sentence for the action. Refusals are the use cases' own (``Refused``, with their rule) or a field the form got wrong
(``pydantic.ValidationError``)."""

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from starlette.datastructures import FormData

from services.incident.application import IncidentApplication
from services.incident.domain import Context, Incident
from services.incident.errors import NotFound
from services.incident.schemas import (
    BriefingIn,
    FindingsIn,
    ForceHandoverIn,
    HandoverIn,
    PublicUpdateIn,
    QuestionIn,
    ReopenIn,
    ResolveIn,
    SeverityIn,
    SeverityInputIn,
    StatusUpdateIn,
)

Change = Callable[[Incident, Context], object]
FIVE_PARTS = ("learned", "tried", "outcome", "working_on", "remaining")
ROLES = ("worker", "sme", "observer")
# The fields that name a person to be found by name or email, per action.
PEOPLE_FIELDS = {
    **{f"add_{role}": ("person",) for role in ROLES},
    "assign_pr_manager": ("person",),
    "offer_handover": ("to",),
    "force_handover": ("to",),
}
People = dict[str, str]

# What the page says once a form's command is done (the timeline says who and what in full).
DONE = {
    "declare": "The incident is declared, and whoever manages it is paged.",
    "acknowledge": "You acknowledged the page.",
    "accept_handover": "You accepted the handover: you manage this incident now.",
    "decline_handover": "You declined the handover.",
    "offer_handover": "The handover is offered. You stay in charge until it is accepted.",
    "force_handover": "The incident has its new manager.",
    "add_worker": "The worker is added.",
    "remove_worker": "The worker is removed.",
    "add_sme": "The SME is added.",
    "remove_sme": "The SME is removed.",
    "add_observer": "The observer is added.",
    "remove_observer": "The observer is removed.",
    "assign_pr_manager": "The PR manager is assigned.",
    "give_severity_input": "Your severity input is recorded.",
    "change_severity": "The severity is changed.",
    "request_status": "The workers are asked for a status update.",
    "post_status_update": "Your status update is posted.",
    "brief_observers": "The observers are briefed.",
    "post_public_update": "The public update is posted.",
    "request_affected_info": "The PR manager is asked for affected-user information.",
    "report_affected_info": "Your findings are reported.",
    "complete_checklist_step": "The checklist step is done.",
    "resolve": "The incident is resolved.",
    "reopen": "The incident is open again.",
}


def field(form: FormData, name: str) -> str:
    """A form field as text, with a browser's CRLF line breaks as the API's LF."""
    value = form.get(name)
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


def _model(model: type[BaseModel], form: FormData, *names: str, **extra: Any) -> Any:
    return model.model_validate({**{name: field(form, name) for name in names}, **extra})


def command_for(action: str, form: FormData, app: IncidentApplication, people: People) -> Change:
    """The change a form asks for; NotFound for an action the console does not know."""
    if action.startswith(("add_", "remove_")) and action.split("_", 1)[1] in ROLES:
        verb, role = action.split("_", 1)
        return _membership(verb == "add", role, form, app, people)
    make = _COMMANDS.get(action)
    if make is None:
        raise NotFound(f"no such action: {action}")
    return make(form, app, people)


def _membership(add: bool, role: str, form: FormData, app: IncidentApplication, people: People) -> Change:
    if not add:
        person = field(form, "person")
        if role == "worker":
            return lambda i, ctx: i.remove_worker(person, ctx)
        return lambda i, ctx: i.remove_member(role, person, ctx)
    person = people["person"]
    if role != "worker":
        return lambda i, ctx: i.add_member(role, person, ctx)

    def add_worker(incident: Incident, ctx: Context) -> None:
        worked, fresh = app.timekeeping.worker_freshness(person, incident)
        incident.add_worker(person, worked, fresh, ctx)

    return add_worker


def _acknowledge(form: FormData, app: IncidentApplication, people: People) -> Change:
    return lambda i, ctx: i.acknowledge(ctx)


def _accept(form: FormData, app: IncidentApplication, people: People) -> Change:
    return lambda i, ctx: i.accept_handover(ctx)


def _decline(form: FormData, app: IncidentApplication, people: People) -> Change:
    return lambda i, ctx: i.decline_handover(ctx)


def _offer(form: FormData, app: IncidentApplication, people: People) -> Change:
    to = people["to"]
    body: HandoverIn = _model(HandoverIn, form, "briefing", to=to)
    return lambda i, ctx: i.offer_handover(body.to, body.briefing, ctx)


def _force(form: FormData, app: IncidentApplication, people: People) -> Change:
    to = people["to"]
    body: ForceHandoverIn = _model(ForceHandoverIn, form, "reason", to=to)
    return lambda i, ctx: i.force_handover(body.to, body.reason, ctx)


def _pr_manager(form: FormData, app: IncidentApplication, people: People) -> Change:
    person = people["person"]
    return lambda i, ctx: i.assign_pr_manager(person, ctx)


def _severity_input(form: FormData, app: IncidentApplication, people: People) -> Change:
    body: SeverityInputIn = _model(SeverityInputIn, form, "level", "comment")
    return lambda i, ctx: i.give_severity_input(body.level, body.comment, ctx)


def _severity(form: FormData, app: IncidentApplication, people: People) -> Change:
    considered = [value for value in form.getlist("considered_input") if isinstance(value, str)]
    body: SeverityIn = _model(SeverityIn, form, "level", "reason", considered_input=considered)
    return lambda i, ctx: i.change_severity(body.level, body.reason, body.considered_input, ctx)


def _status_request(form: FormData, app: IncidentApplication, people: People) -> Change:
    return lambda i, ctx: i.request_status(ctx)


def _status_update(form: FormData, app: IncidentApplication, people: People) -> Change:
    body: StatusUpdateIn = _model(StatusUpdateIn, form, *FIVE_PARTS)
    return lambda i, ctx: i.post_status_update(body.model_dump(), ctx)


def _briefing(form: FormData, app: IncidentApplication, people: People) -> Change:
    body: BriefingIn = _model(BriefingIn, form, "summary")
    return lambda i, ctx: i.brief_observers(body.summary, ctx)


def _public_update(form: FormData, app: IncidentApplication, people: People) -> Change:
    body: PublicUpdateIn = _model(PublicUpdateIn, form, "message")
    return lambda i, ctx: i.post_public_update(body.message, ctx)


def _affected_question(form: FormData, app: IncidentApplication, people: People) -> Change:
    body: QuestionIn = _model(QuestionIn, form, "question")
    return lambda i, ctx: i.request_affected_info(body.question, ctx)


def _affected_findings(form: FormData, app: IncidentApplication, people: People) -> Change:
    body: FindingsIn = _model(FindingsIn, form, "findings")
    return lambda i, ctx: i.report_affected_info(body.findings, ctx)


def _step_done(form: FormData, app: IncidentApplication, people: People) -> Change:
    step = field(form, "step")
    return lambda i, ctx: i.complete_step(step, ctx)


def _resolve(form: FormData, app: IncidentApplication, people: People) -> Change:
    body: ResolveIn = _model(ResolveIn, form, "resolution", "test_plan")
    return lambda i, ctx: i.resolve(body.resolution, body.test_plan, ctx)


def _reopen(form: FormData, app: IncidentApplication, people: People) -> Change:
    body: ReopenIn = _model(ReopenIn, form, "reason")
    return lambda i, ctx: i.reopen(body.reason, ctx)


_COMMANDS: dict[str, Callable[[FormData, IncidentApplication, People], Change]] = {
    "acknowledge": _acknowledge,
    "accept_handover": _accept,
    "decline_handover": _decline,
    "offer_handover": _offer,
    "force_handover": _force,
    "assign_pr_manager": _pr_manager,
    "give_severity_input": _severity_input,
    "change_severity": _severity,
    "request_status": _status_request,
    "post_status_update": _status_update,
    "brief_observers": _briefing,
    "post_public_update": _public_update,
    "request_affected_info": _affected_question,
    "report_affected_info": _affected_findings,
    "complete_checklist_step": _step_done,
    "resolve": _resolve,
    "reopen": _reopen,
}

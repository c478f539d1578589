"""Request and response bodies of the incident service (strict: unknown fields are 422)."""

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.incident.domain import Incident
from shared.text import CLOCK, Aspect, Email, Id, Json, Line, Message, Name, Reason, Title, Url

# Every text field is one of shared/text's types: no control characters, no line breaks outside
# multi-line text, no lone surrogates, a maximum length (422 naming the field, before any write).
PersonRef = Id
Clock = Annotated[str, Field(pattern=CLOCK)]


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA timezone") from None
    return name


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkingHours(StrictBody):
    start: Clock
    end: Clock
    days: list[Annotated[int, Field(ge=1, le=7)]] = Field(min_length=1, max_length=7)


class WakingHours(StrictBody):
    start: Clock
    end: Clock


class PersonIn(StrictBody):
    name: Name
    email: Email
    timezone: Annotated[str, Line(64), AfterValidator(_timezone)]
    phone: Annotated[str, Line(40)] | None = None
    groups: list[Annotated[str, Line(100, min_length=1)]] = Field(default=[], max_length=50)
    working_hours: WorkingHours
    waking_hours: WakingHours | None = None
    webhook_url: Url | None = None
    admin: bool = False


class TokenIn(StrictBody):
    person_id: PersonRef
    label: Annotated[str, Line(100)] | None = Field(default=None, description="what the token is for, e.g. laptop")
    expires_at: datetime | None = Field(default=None, description="ISO 8601 with a timezone, in the future")


class TokenOut(BaseModel):
    id: str
    token: str


class AspectIn(StrictBody):
    smes: list[PersonRef] = Field(max_length=100)


class AspectOut(BaseModel):
    aspect: str
    smes: list[str]


class DeclareIn(StrictBody):
    title: Title
    description: Message = ""
    aspect: Aspect
    severity: Annotated[int, Field(ge=1, le=100)]
    manager: PersonRef | None = None


class PersonRefIn(StrictBody):
    person: PersonRef


class HandoverIn(StrictBody):
    to: PersonRef
    briefing: Reason


class ForceHandoverIn(StrictBody):
    to: PersonRef
    reason: Reason


class SeverityInputIn(StrictBody):
    level: Annotated[int, Field(ge=1, le=100)]
    comment: Reason = ""


class SeverityIn(StrictBody):
    level: Annotated[int, Field(ge=1, le=100)]
    reason: Reason
    considered_input: list[Annotated[int, Field(ge=1)]] = Field(default=[], max_length=100)


class EmptyIn(StrictBody):
    pass


class StatusUpdateIn(StrictBody):
    """All five parts are required (R06); they are optional here so one 422 can name every gap."""

    learned: Message | None = None
    tried: Message | None = None
    outcome: Message | None = None
    working_on: Message | None = None
    remaining: Message | None = None


class BriefingIn(StrictBody):
    summary: Message


class PublicUpdateIn(StrictBody):
    message: Message


class QuestionIn(StrictBody):
    question: Message


class FindingsIn(StrictBody):
    findings: Message


class ResolveIn(StrictBody):
    resolution: Message
    test_plan: Message


class ReopenIn(StrictBody):
    reason: Message


class ReportIn(StrictBody):
    title: Title
    description: Message = ""
    aspect: Aspect


class RefinementIn(StrictBody):
    """R17: a process-refinement action item recorded on a post-mortem, with exactly its recorded change."""

    postmortem: Annotated[Id, Field(description="the post-mortem's incident id")]
    action_item: Annotated[int, Field(ge=1, description="the action item's number on that post-mortem")]
    change: Json = Field(description="a JSON merge patch (RFC 7386) on the process document: the item's change")


class HandoverOffer(BaseModel):
    to: str
    briefing: str
    by: str


class Due(BaseModel):
    """R20: what is due next for the manager."""

    checklist: list[dict]
    next_status_update_at: datetime | None
    next_public_update_at: datetime | None
    pr_manager_needed: bool
    acknowledgement_due_at: datetime | None
    handover_warning_at: datetime | None
    shift_limit_at: datetime | None
    tired_workers: list[str]


class Coverage(BaseModel):
    """R10: how the directory covered the declared aspect; in the declaration's answer only."""

    gap: bool = Field(description="the aspect has no SME: the catch-all was paged, a gap for the post-mortem")
    aspect_known: bool = Field(description="the aspect is in the directory (false: perhaps a typo)")
    did_you_mean: list[str] = Field(description="for an unknown aspect, the nearest known ones")
    paged: str


class CoverageReport(BaseModel):
    """R10: where the directory does not cover the company."""

    uncovered: list[str] = Field(description="the directory's aspects without an SME")
    declared_without_sme: list[str] = Field(
        description="aspects incidents were declared for that have no SME, unknown aspects included"
    )
    catch_all_sme: str | None = Field(description="who is paged for them; null: such declarations are refused")
    warnings: list[str]


class IncidentOut(BaseModel):
    id: str
    title: str
    description: str
    aspect: str
    status: str
    severity: int
    manager: str
    workers: list[str]
    smes: list[str]
    observers: list[str]
    pr_manager: str | None
    handover_offer: HandoverOffer | None
    version: int
    process_version: int
    declared_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    coverage_gap: bool
    paged: str
    acknowledged: bool
    managers: list[str]
    severity_inputs: list[dict]
    checklist_done: dict[str, dict]
    resolution: dict | None
    due: Due | None = None
    coverage: Coverage | None = None


class IncidentSummary(BaseModel):
    id: str
    title: str
    aspect: str
    status: str
    severity: int
    manager: str
    declared_at: datetime


class IncidentList(BaseModel):
    incidents: list[IncidentSummary]
    next: str | None


class EventsPage(BaseModel):
    events: list[dict]
    next: int | None


def incident_out(incident: Incident, extra: dict[str, Any] | None = None) -> IncidentOut:
    fields = (
        "title",
        "description",
        "aspect",
        "status",
        "severity",
        "manager",
        "pr_manager",
        "handover_offer",
        "version",
        "process_version",
        "declared_at",
        "resolved_at",
        "closed_at",
        "coverage_gap",
        "paged",
        "acknowledged",
        "resolution",
    )
    lists = ("workers", "smes", "observers", "managers", "severity_inputs")
    # Each value as the state holds it: IncidentOut validates them (a handover offer becomes a HandoverOffer).
    values: dict[str, Any] = {f: getattr(incident, f) for f in fields}
    copies: dict[str, Any] = {f: list(getattr(incident, f)) for f in lists}
    copies["checklist_done"] = dict(incident.checklist_done)
    return IncidentOut(
        id=str(incident.id),
        **values,
        **copies,
        **(extra or {}),
    )

"""Request and response bodies of the incident service (strict: unknown fields are 422)."""
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Text = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=10_000)]
PersonRef = Annotated[str, Field(min_length=1, max_length=64)]
Clock = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA timezone") from None
    return name


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkingHours(Strict):
    start: Clock
    end: Clock
    days: list[Annotated[int, Field(ge=1, le=7)]] = Field(min_length=1, max_length=7)


class WakingHours(Strict):
    start: Clock
    end: Clock


class PersonIn(Strict):
    name: Text
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    timezone: Annotated[str, Field(max_length=64), AfterValidator(_timezone)]
    phone: Annotated[str, Field(max_length=40)] | None = None
    groups: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default=[], max_length=50)
    working_hours: WorkingHours
    waking_hours: WakingHours | None = None
    webhook_url: Annotated[str, Field(max_length=2000, pattern=r"^https?://\S+$")] | None = None
    admin: bool = False


class PersonOut(PersonIn):
    id: str


class TokenIn(Strict):
    person_id: PersonRef


class TokenOut(BaseModel):
    id: str
    token: str


class AspectIn(Strict):
    smes: list[PersonRef] = Field(max_length=100)


class AspectOut(BaseModel):
    aspect: str
    smes: list[str]


class DeclareIn(Strict):
    title: Text
    description: LongText = ""
    aspect: Annotated[str, Field(min_length=1, max_length=100)]
    severity: Annotated[int, Field(ge=1, le=100)]
    manager: PersonRef | None = None


class PersonRefIn(Strict):
    person: PersonRef


class HandoverIn(Strict):
    to: PersonRef
    briefing: Annotated[str, Field(min_length=1, max_length=2000)]


class SeverityIn(Strict):
    level: Annotated[int, Field(ge=1, le=100)]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class ResolveIn(Strict):
    resolution: Annotated[str, Field(max_length=10_000)]
    test_plan: Annotated[str, Field(max_length=10_000)]


class HandoverOffer(BaseModel):
    to: str
    briefing: str
    by: str


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


class EventsPage(BaseModel):
    events: list[dict]
    next: int | None


def incident_out(incident) -> IncidentOut:
    return IncidentOut(
        id=str(incident.id), title=incident.title, description=incident.description, aspect=incident.aspect,
        status=incident.status, severity=incident.severity, manager=incident.manager,
        workers=list(incident.workers), smes=list(incident.smes), observers=list(incident.observers),
        pr_manager=incident.pr_manager, handover_offer=incident.handover_offer, version=incident.version,
        process_version=incident.process_version, declared_at=incident.declared_at,
        resolved_at=incident.resolved_at, closed_at=incident.closed_at, coverage_gap=incident.coverage_gap,
        paged=incident.paged)

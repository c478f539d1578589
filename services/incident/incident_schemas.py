"""The incident as the API answers it: the whole incident (every command's answer), a page of summaries,
a page of its published events."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema

from services.incident import examples
from services.incident.domain import Incident
from services.incident.schemas import example

_MOMENT = {"type": "string", "format": "date-time"}
_TEXT = {"type": "string"}


def _object(description: str, **properties: tuple[dict[str, Any], str]) -> dict[str, Any]:
    """The JSON Schema of a plain object the state keeps as a dict: documented, validated as before."""
    return {
        "type": "object",
        "description": description,
        "properties": {name: {**schema, "description": words} for name, (schema, words) in properties.items()},
        "required": list(properties),
    }


_STEP_DUE = _object(
    "A checklist step of the current level not done yet (R14)",
    step=(_TEXT, "The step's id"),
    title=(_TEXT, "What to do"),
    due_at=({"anyOf": [_MOMENT, {"type": "null"}]}, "When it is due; null: whenever it applies"),
)
_SEVERITY_INPUT = _object(
    "An SME's or observer's view of the level (R07)",
    sequence=({"type": "integer"}, "The sequence of the event that recorded it: cite it in `considered_input`"),
    level=({"type": "integer"}, "The level they think fits"),
    comment=(_TEXT, "Why"),
    by=(_TEXT, "Who gave it"),
)
_STEP_DONE = _object(
    "A checklist step done (R14)",
    level=({"type": "integer"}, "The level it was done at"),
    by=(_TEXT, "Who did it"),
    at=(_MOMENT, "When"),
)
_RESOLUTION = _object(
    "How the incident was resolved (R15)",
    resolution=(_TEXT, "What fixed it"),
    test_plan=(_TEXT, "The test plan that verified the fix"),
)
StepsDue = Annotated[list[dict], WithJsonSchema({"type": "array", "items": _STEP_DUE})]
SeverityInputs = Annotated[list[dict], WithJsonSchema({"type": "array", "items": _SEVERITY_INPUT})]
StepsDone = Annotated[dict[str, dict], WithJsonSchema({"type": "object", "additionalProperties": _STEP_DONE})]
Resolution = Annotated[dict | None, WithJsonSchema({"anyOf": [_RESOLUTION, {"type": "null"}]})]


class HandoverOffer(BaseModel):
    """A handover on offer (R04): the offering manager stays in charge until it is accepted."""

    to: str = Field(description="Who is offered the manager's role")
    briefing: str = Field(description="What they need to know to take over")
    by: str = Field(description="The manager who offered it")


class Due(BaseModel):
    """R20: what is due next for the manager."""

    checklist: StepsDue = Field(description="The current level's checklist steps not done yet (R14)")
    next_status_update_at: datetime | None = Field(description="When the workers' next status update is due (R06)")
    next_public_update_at: datetime | None = Field(description="When the next public update is due (R08)")
    pr_manager_needed: bool = Field(description="The level requires a PR manager and none is assigned")
    acknowledgement_due_at: datetime | None = Field(description="When the page escalates unanswered (R11)")
    handover_warning_at: datetime | None = Field(description="When the manager is warned to hand over (R05)")
    shift_limit_at: datetime | None = Field(description="When the manager's shift limit is reached (R05)")
    tired_workers: list[str] = Field(description="Workers who are not fresh (R19)")


class Coverage(BaseModel):
    """R10: how the directory covered the declared aspect; in the declaration's answer only."""

    gap: bool = Field(description="the aspect has no SME: the catch-all was paged, a gap for the post-mortem")
    aspect_known: bool = Field(description="the aspect is in the directory (false: perhaps a typo)")
    did_you_mean: list[str] = Field(description="for an unknown aspect, the nearest known ones")
    paged: str = Field(description="Who was paged")


class IncidentOut(BaseModel):
    """An incident, whole: every command on it answers this, with its `version` as the ETag."""

    model_config = example(examples.INCIDENT_OUT, {**examples.INCIDENT_OUT, "coverage": examples.COVERAGE})
    id: str = Field(description="The incident's id")
    title: str = Field(description="What is wrong, in a line")
    description: str = Field(description="What was known when it was declared")
    aspect: str = Field(description="The aspect affected")
    status: str = Field(description="`open`, `resolved` (R15) or `closed` (its post-mortem published)")
    severity: int = Field(description="The current level, 1 the most severe")
    manager: str = Field(description="Who manages it now")
    workers: list[str] = Field(description="Who works on the problem")
    smes: list[str] = Field(description="Its SMEs")
    observers: list[str] = Field(description="Who is kept informed")
    pr_manager: str | None = Field(description="Who talks to the public (R08); null: nobody yet")
    handover_offer: HandoverOffer | None = Field(description="The handover on offer, if any (R04)")
    version: int = Field(description="Its version: the number of its events; the ETag, quoted")
    process_version: int = Field(description="The process version it was declared under, and follows (R17)")
    declared_at: datetime = Field(description="When it was declared")
    resolved_at: datetime | None = Field(description="When it was resolved; null while open")
    closed_at: datetime | None = Field(description="When its post-mortem was published")
    coverage_gap: bool = Field(description="Its aspect had no SME when declared: the catch-all was paged (R10)")
    paged: str = Field(description="Who was paged")
    acknowledged: bool = Field(description="The page was acknowledged (R11)")
    managers: list[str] = Field(description="Everyone who managed it, in order")
    severity_inputs: SeverityInputs = Field(description="The severity input given (R07)")
    checklist_done: StepsDone = Field(description="The checklist steps done, by step id (R14)")
    resolution: Resolution = Field(description="How it was resolved; null while open")
    due: Due | None = Field(None, description="What is due next for the manager (R20); null for the past (`as_of`)")
    coverage: Coverage | None = Field(None, description="How the directory covered its aspect; declaration only")


class IncidentSummary(BaseModel):
    """An incident in a list."""

    model_config = example(examples.SUMMARY)
    id: str = Field(description="The incident's id")
    title: str = Field(description="What is wrong, in a line")
    aspect: str = Field(description="The aspect affected")
    status: str = Field(description="`open`, `resolved` or `closed`")
    severity: int = Field(description="The current level, 1 the most severe")
    manager: str = Field(description="Who manages it now")
    declared_at: datetime = Field(description="When it was declared")


class IncidentList(BaseModel):
    """A page of incidents, newest first."""

    model_config = example({"incidents": [examples.SUMMARY], "next": "14"})
    incidents: list[IncidentSummary] = Field(description="This page's incidents")
    next: str | None = Field(description="The `cursor` of the next page; null on the last")


class EventsPage(BaseModel):
    """A page of published CloudEvents."""

    model_config = example({"events": [examples.EVENT], "next": 3})
    events: list[dict] = Field(
        description="CloudEvents 1.0 as published (docs/events.md), with `sequence` (the incident's), "
        "`position` (the store's) and, on an incident's events, `chainhash` (its link in the incident's hash chain)"
    )
    next: int | None = Field(description="Where to continue: the `after` of the next page; null at the end")


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

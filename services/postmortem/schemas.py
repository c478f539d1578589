"""The post-mortem API's bodies: what it accepts (strict) and what it answers (documented for S6)."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.postmortem.deadlines import Outcome
from services.postmortem.domain import Role
from shared.text import Id, Json, Line, Text


class SectionId(StrEnum):
    # The ids of report.SECTIONS, in their order (a unit test holds the two together).
    problem = "problem"
    participants = "participants"
    cause = "cause"
    handling = "handling"
    solution = "solution"
    prevention = "prevention"
    handling_lessons = "handling_lessons"


Kind = Literal["prevention", "handling", "process_refinement"]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SectionIn(In):
    text: Annotated[str, Text(50_000)] = Field(description="The section's narrative; empty clears it")


class ActionItemIn(In):
    title: Annotated[str, Line(280, min_length=1)]
    owner: Id = Field(description="The person id of who sees it done")
    due: date
    kind: Kind
    change: Json | None = Field(
        default=None, description="process_refinement only: a JSON merge patch (RFC 7386) on the process document"
    )

    @model_validator(mode="after")
    def _change_only_for_refinements(self):
        if self.kind == "process_refinement" and not self.change:
            raise ValueError("a process refinement carries its change: a non-empty JSON merge patch")
        if self.kind != "process_refinement" and self.change is not None:
            raise ValueError("only a process refinement carries a change")
        return self


class Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class Edit(Out):
    text: str
    by: str
    by_name: str | None
    at: datetime


class Section(Out):
    id: str
    title: str
    prompt: str = Field(description="What the narrative should answer")
    generated: dict[str, Any] = Field(description="Facts computed from the events")
    text: str = Field(description="The narrative: the latest edit, empty while nobody has written it")
    written: bool
    written_by: str | None
    written_at: datetime | None
    history: list[Edit] = Field(description="Every edit, oldest first: nothing is overwritten without a trace")


class TimelineEntry(Out):
    at: datetime
    type: str
    actor: str | None
    actor_name: str | None
    summary: str
    quote: str | None = Field(description="What people wrote (status and public updates, briefings, …)")


class Tenure(Out):
    from_: datetime = Field(alias="from")
    to: datetime | None = Field(description="null while still managing")


class Participant(Out):
    person: str
    name: str | None
    roles: list[Role]
    tenures: list[Tenure] = Field(description="Manager tenure intervals")


class LevelPeriod(Out):
    level: int
    name: str
    from_: datetime = Field(alias="from")
    to: datetime | None


class AdherenceItem(Out):
    kind: str = Field(
        description="checklist, acknowledgement, status_update, public_update, handover_warning, "
        "shift_limit, worker_freshness or coverage_gap"
    )
    rule: str
    what: str
    outcome: Outcome = Field(
        description="met; late or missed (the deviations); pending (not yet due, or not done "
        "yet while the incident is open); not_due (its deadline fell after the "
        "resolution or the level's end); not_done (a step without a deadline left "
        "undone); warning"
    )
    level: int | None
    person: str | None
    person_name: str | None
    due_at: datetime | None
    done_at: datetime | None
    late_by: float | None = Field(description="Seconds late (late), or overdue (missed)")
    note: str
    reminders: int = Field(description="Timers that fired for this deadline")


class Durations(Out):
    to_acknowledge: float | None = Field(description="Seconds from declaration to the first acknowledgement")
    to_first_status_update: float | None
    to_resolve: float | None = Field(description="Seconds from declaration to resolution")
    at_level: dict[str, float] = Field(description="Seconds spent at each severity level while open")


class ActionItem(Out):
    id: int
    title: str
    owner: str
    owner_name: str | None
    due: date
    kind: Kind
    change: dict[str, Any] | None
    created_by: str
    created_at: datetime
    applied_version: int | None = Field(description="The process version applying it published (R17)")
    applied_at: datetime | None
    applied_by: str | None


class Postmortem(Out):
    incident_id: str
    title: str
    state: Literal["draft", "published"]
    published_at: datetime | None
    published_by: str | None
    published_by_name: str | None
    process_version: int
    as_of: datetime = Field(description="When the facts were taken: now for a draft, the publication otherwise")
    levels: list[LevelPeriod]
    sections: list[Section]
    timeline: list[TimelineEntry]
    participants: list[Participant]
    adherence: list[AdherenceItem]
    durations: Durations
    action_items: list[ActionItem]


class Applied(Out):
    process_version: int
    action_item: ActionItem

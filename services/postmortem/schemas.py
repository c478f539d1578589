"""The post-mortem API's bodies: what it accepts (strict) and what it answers (documented for S6),
every field described; the examples are a real draft's, trimmed (``examples.py``)."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import JsonDict

from services.postmortem import examples
from services.postmortem.deadlines import Outcome
from services.postmortem.domain import Role
from shared.process import secrets
from shared.text import Id, Json, Line, Text


class SectionId(StrEnum):
    """A section of the report, in its order."""

    # The ids of report.SECTIONS, in their order (a unit test holds the two together).
    problem = "problem"
    participants = "participants"
    cause = "cause"
    handling = "handling"
    solution = "solution"
    prevention = "prevention"
    handling_lessons = "handling_lessons"


Kind = Literal["prevention", "handling", "process_refinement"]
KIND = (
    "prevention: keeps the problem from happening again; handling: improves how such an incident is handled; "
    "process_refinement: a change to the process document, applied as its next version (R17)"
)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _example(example: JsonDict, *, strict: bool = False) -> ConfigDict:
    """A body's example; ``strict``: a request body, whose unknown fields are refused (422)."""
    extra: JsonDict = {"examples": [example]}
    return ConfigDict(extra="forbid", json_schema_extra=extra) if strict else ConfigDict(json_schema_extra=extra)


class SectionIn(In):
    """A section's new narrative."""

    model_config = _example(examples.SECTION_IN, strict=True)
    text: Annotated[str, Text(50_000)] = Field(
        description="The section's narrative, in Markdown (the HTML report renders it, raw HTML shown as text); "
        "empty clears it"
    )


class ActionItemIn(In):
    """An action item to record."""

    model_config = _example(examples.ACTION_ITEM_IN, strict=True)
    title: Annotated[str, Line(280, min_length=1)] = Field(description="What is to be done, in one line")
    owner: Id = Field(description="The person id of who sees it done (a registered person)")
    due: date = Field(description="The day it is due")
    kind: Kind = Field(description=KIND)
    change: Json | None = Field(
        default=None,
        description="process_refinement only (and required there): a JSON merge patch (RFC 7386) on the process "
        "document",
    )

    @model_validator(mode="after")
    def _change_only_for_refinements(self):
        if self.kind == "process_refinement" and not self.change:
            raise ValueError("a process refinement carries its change: a non-empty JSON merge patch")
        if self.kind != "process_refinement" and self.change is not None:
            raise ValueError("only a process refinement carries a change")
        if self.change and secrets.named(self.change):
            # The item and its change are kept and published as they are: a secret would be at rest in plaintext.
            raise ValueError(
                "a process refinement may not set a webhook URL (a level's chat_webhook_url, issue_tracker_webhook): "
                "they are secrets and the change is kept as written (S11); write *** to keep the current one, "
                "and an admin sets a new one with PUT /v1/process"
            )
        return self


class Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


def _answered(example: JsonDict) -> ConfigDict:
    """An answer's model: fields may be given by their alias (``from``) or name, and its example."""
    return ConfigDict(populate_by_name=True, json_schema_extra={"examples": [example]})


class Edit(Out):
    """One version of a section's narrative."""

    model_config = _answered(examples.EDIT)
    text: str = Field(description="The narrative as written in this version")
    by: str = Field(description="The person id of who wrote it")
    by_name: str | None = Field(description="Their name; null if they are not known here")
    at: datetime = Field(description="When it was written")


class Section(Out):
    """A section of the report: the facts computed from the events, and the narrative people write."""

    model_config = _answered(examples.SECTION)
    id: str = Field(description=f"The section: one of {', '.join(SectionId)}, in this order")
    title: str = Field(description="Its heading in the report")
    prompt: str = Field(description="What the narrative should answer")
    generated: dict[str, Any] = Field(
        description="Facts computed from the events, different for each section (the problem's declaration and "
        "severities, the participants, the handling's counts and severity changes, the solution's resolution "
        "and test plan, the action items' ids, the process adherence counts); empty where there are none"
    )
    text: str = Field(description="The narrative: the latest edit, empty while nobody has written it")
    written: bool = Field(description="Whether the narrative has any text besides white space")
    written_by: str | None = Field(description="The person id of the latest edit's author; null if none")
    written_at: datetime | None = Field(description="When the latest edit was made; null if none")
    history: list[Edit] = Field(description="Every edit, oldest first: nothing is overwritten without a trace")


class TimelineEntry(Out):
    """One event of the incident's story, in words."""

    model_config = _answered(examples.TIMELINE_ENTRY)
    at: datetime = Field(description="When it happened")
    type: str = Field(description="The event's type, e.g. warroom.incident.acknowledged.v1")
    actor: str | None = Field(
        description="Who did it or whom it concerns: a person id, `warroom` for the service itself; null when nobody"
    )
    actor_name: str | None = Field(description="The actor's name; null if it is not a person known here")
    summary: str = Field(description="What happened, in a sentence")
    quote: str | None = Field(description="What people wrote (status and public updates, briefings, …)")


class Tenure(Out):
    """An interval a person managed the incident."""

    model_config = _answered(examples.TENURE)
    from_: datetime = Field(alias="from", description="When they became manager")
    to: datetime | None = Field(description="When they stopped; null while still managing")


class Participant(Out):
    """Someone who took part."""

    model_config = _answered(examples.PARTICIPANT)
    person: str = Field(description="The person id")
    name: str | None = Field(description="Their name; null if they are not known here")
    roles: list[Role] = Field(description="Every role they held during the incident")
    tenures: list[Tenure] = Field(description="Manager tenure intervals")


class LevelPeriod(Out):
    """A period the incident spent at one severity level."""

    model_config = _answered(examples.LEVEL_PERIOD)
    level: int = Field(description="The severity level (1 is the most severe)")
    name: str = Field(description="The level's name in the process")
    from_: datetime = Field(alias="from", description="When the incident entered the level")
    to: datetime | None = Field(description="When it left it (or was resolved); null while still there")


class AdherenceItem(Out):
    """How one deadline or duty of the process was kept."""

    model_config = _answered(examples.ADHERENCE_ITEM)
    kind: str = Field(
        description="checklist, acknowledgement, status_update, public_update, handover_warning, "
        "shift_limit, worker_freshness or coverage_gap"
    )
    rule: str = Field(description="The rule of the process it comes from, e.g. R14")
    what: str = Field(description="What was due, in words")
    outcome: Outcome = Field(
        description="met; late or missed (the deviations); pending (not yet due, or not done "
        "yet while the incident is open); not_due (its deadline fell after the "
        "resolution or the level's end); not_done (a step without a deadline left "
        "undone); warning"
    )
    level: int | None = Field(description="The severity level it belonged to; null if it belongs to none")
    person: str | None = Field(description="The person id of who owed it; null when nobody in particular")
    person_name: str | None = Field(description="Their name; null when nobody in particular")
    due_at: datetime | None = Field(description="Its deadline; null for a duty without one")
    done_at: datetime | None = Field(description="When it was done; null if it was not")
    late_by: float | None = Field(description="Seconds late (late), or overdue (missed)")
    note: str = Field(description="What else there is to know, in words; empty if nothing")
    reminders: int = Field(description="Timers that fired for this deadline")


class Durations(Out):
    """Key durations, in seconds; an open incident's count up to now."""

    model_config = _answered(examples.DURATIONS)
    to_acknowledge: float | None = Field(description="Seconds from declaration to the first acknowledgement")
    to_first_status_update: float | None = Field(
        description="Seconds from declaration to the first status update; null if there was none"
    )
    to_resolve: float | None = Field(description="Seconds from declaration to resolution")
    at_level: dict[str, float] = Field(description="Seconds spent at each severity level while open")


class ActionItem(Out):
    """A measure to take after the incident, with its owner and due day."""

    model_config = _answered(examples.ACTION_ITEM)
    id: int = Field(description="Its number in this post-mortem, from 1")
    title: str = Field(description="What is to be done")
    owner: str = Field(description="The person id of who sees it done")
    owner_name: str | None = Field(description="Their name; null if they are not known here")
    due: date = Field(description="The day it is due")
    kind: Kind = Field(description=KIND)
    change: dict[str, Any] | None = Field(
        description="A process refinement's JSON merge patch on the process document; null for the other kinds"
    )
    created_by: str = Field(description="The person id of who recorded it")
    created_at: datetime = Field(description="When it was recorded")
    applied_version: int | None = Field(description="The process version applying it published (R17)")
    applied_at: datetime | None = Field(description="When it was applied; null until then")
    applied_by: str | None = Field(description="The person id of who applied it; null until then")


class Postmortem(Out):
    """An incident's post-mortem: a draft computed from the events and people's writing, until it is
    published and frozen (R16)."""

    model_config = _answered(examples.POSTMORTEM)
    incident_id: str = Field(description="The incident it is about")
    title: str = Field(description="The incident's title")
    state: Literal["draft", "published"] = Field(
        description="draft: computed afresh at every read; published: frozen as it was at `published_at`"
    )
    published_at: datetime | None = Field(description="When it was published; null for a draft")
    published_by: str | None = Field(description="The person id of who published it; null for a draft")
    published_by_name: str | None = Field(description="Their name; null for a draft")
    process_version: int = Field(description="The process version the incident was declared under")
    as_of: datetime = Field(description="When the facts were taken: now for a draft, the publication otherwise")
    levels: list[LevelPeriod] = Field(description="The severity levels the incident went through, in order")
    sections: list[Section] = Field(description="The seven sections of the report, in order (see SectionId)")
    timeline: list[TimelineEntry] = Field(description="Everything that happened, oldest first")
    participants: list[Participant] = Field(description="Everyone who took part, with their roles")
    adherence: list[AdherenceItem] = Field(description="How each deadline and duty of the process was kept")
    durations: Durations = Field(description="Key durations")
    action_items: list[ActionItem] = Field(description="The action items, in the order they were recorded")


class Applied(Out):
    """A process refinement applied (R17)."""

    model_config = _answered(examples.APPLIED)
    process_version: int = Field(description="The process version it published")
    action_item: ActionItem = Field(description="The action item, now with `applied_version`")

"""The back-test's bodies: what ``POST /v1/backtests`` accepts (strict) and what it answers, every field
described; the examples are a real back-test's, trimmed (``backtest_examples.py``)."""

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import JsonDict

from services.postmortem import backtest_examples as examples
from services.postmortem.deadlines import Outcome
from services.postmortem.proposals import ProposedProcess
from shared.text import Id, Json

# What each kind of row or difference is about.
KINDS = (
    "acknowledgement (R11), escalation (R11), checklist (R14), status_update (R06), public_update (R08), "
    "handover_warning (R05), shift_limit (R05), worker_freshness (R19); a difference may also be page (when "
    "a page would have gone out)"
)


def _answered(example: Any) -> ConfigDict:
    extra: JsonDict = {"examples": [example]}
    return ConfigDict(json_schema_extra=extra)


class BacktestIn(BaseModel):
    """A proposed process and the incidents to back-test it on."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [examples.BACKTEST_IN]})
    change: Json | None = Field(
        None,
        description="A JSON merge patch (RFC 7386) merged onto each incident's own process version; "
        "exactly one of change and document",
    )
    document: ProposedProcess | None = Field(
        None, description="A whole process document, as PUT /v1/process takes it; exactly one of change and document"
    )
    since: datetime | None = Field(
        None,
        description="Only incidents declared at or after this moment (ISO 8601). With neither since nor "
        "incidents: the last 90 days",
    )
    incidents: list[Id] | None = Field(
        None, max_length=1000, description="Only these incidents (ids); with since, those declared since then"
    )

    @model_validator(mode="after")
    def _one_proposal(self) -> Self:
        if (self.change is None) == (self.document is None):
            raise ValueError("must carry exactly one of change (a merge patch) and document (a whole process)")
        return self


class PageJudged(BaseModel):
    """R11: a page as it would have gone: when it went out to the person and fell due."""

    model_config = _answered(examples.PAGE)
    person: str = Field(description="The person id of who was paged")
    level: int = Field(description="The level they were paged at")
    paged_at: datetime = Field(description="When the page was sent in reality")
    released_at: datetime = Field(
        description="When the level's immediacy would have let it out to them (their hours, in their timezone)"
    )
    due_at: datetime | None = Field(description="When its acknowledgement falls due; null: the level sets none")
    acknowledgement: Outcome = Field(description="How its acknowledgement is judged: met, late, missed, …")
    escalated: bool = Field(description="Whether it would have escalated: not acknowledged by its deadline")


class Deadline(BaseModel):
    """One row of the incident's process adherence as judged under one process."""

    model_config = _answered(examples.DEADLINE)
    kind: str = Field(description=f"What it is about: {KINDS}")
    rule: str = Field(description="The rule of the process it follows (R05, R06, …)")
    what: str = Field(description="What was due, in words")
    outcome: Outcome = Field(
        description="met, late, missed, pending (not yet due), not_due (owed only after the level or the "
        "incident ended), not_done (no deadline, not done), warning (a warning raised)"
    )
    level: int | None = Field(description="The level in force; null if none applies")
    person: str | None = Field(description="The person id of who owed it or was warned; null if nobody")
    due_at: datetime | None = Field(description="Its deadline; null for a warning or a step without one")
    done_at: datetime | None = Field(description="When it was done in reality, or when a warning was raised")
    late_by: float | None = Field(description="Seconds late (late) or overdue (missed); null otherwise")
    note: str = Field(description="What happened, in words")


class Judgement(BaseModel):
    """An incident judged under one process: its deviations, its pages and every deadline."""

    model_config = _answered(examples.JUDGEMENT)
    deviations: int = Field(
        description="Late or missed deadlines, escalations, shift-limit warnings and breaches, freshness warnings"
    )
    by_kind: dict[str, int] = Field(description="The deviations of each kind (only kinds with any)")
    pages: list[PageJudged] = Field(description="Who would have been paged, when, and how they answered")
    deadlines: list[Deadline] = Field(description="Every deadline and warning, met, late, missed or raised")


class Side(BaseModel):
    """One thing a difference is about, as judged under one process."""

    model_config = _answered(examples.SIDE_AFTER)
    outcome: Outcome | None = Field(description="The worst outcome of its occurrences; null: it had none")
    deviations: int = Field(description="How many of its occurrences were deviations")
    occurrences: int = Field(description="How many times it fell due or was raised")
    late_by: float | None = Field(description="The most seconds late or overdue among them; null if none")
    said: str = Field(description="The same, in words")


class Difference(BaseModel):
    """Something the proposal would have judged differently."""

    model_config = _answered(examples.DIFFERENCE)
    kind: str = Field(description=f"What it is about: {KINDS}")
    item: str = Field(description="Which one, in words (the page to Ann at 09:00, Cat's status updates, …)")
    before: Side = Field(description="Under the process version the incident ran with")
    after: Side = Field(description="Under the proposal")
    text: str = Field(description="The difference, in a sentence a manager reads")


class IncidentBacktest(BaseModel):
    """One incident back-tested."""

    model_config = _answered(examples.INCIDENT)
    incident_id: str = Field(description="The incident's id")
    title: str = Field(description="Its title")
    declared_at: datetime = Field(description="When it was declared")
    status: Literal["open", "resolved", "closed"] = Field(description="Its status now (an open one is judged now)")
    process_version: int = Field(description="The process version it ran with")
    before: Judgement = Field(description="Judged under the version it ran with")
    after: Judgement = Field(description="Judged under the proposal")
    differences: list[Difference] = Field(description="What the proposal would have judged differently")


class KindTotal(BaseModel):
    """One kind of deviation in total."""

    model_config = _answered(examples.KIND_TOTAL)
    kind: str = Field(description=f"The kind: {KINDS}")
    deviations_before: int = Field(description="Its deviations under the versions the incidents ran with")
    deviations_after: int = Field(description="Its deviations under the proposal")
    incidents_before: int = Field(description="Incidents with at least one, under their own versions")
    incidents_after: int = Field(description="Incidents with at least one, under the proposal")
    text: str = Field(description="The same, in a sentence a manager reads")


class BacktestSummary(BaseModel):
    """The back-test in total."""

    model_config = _answered(examples.SUMMARY)
    incidents: int = Field(description="The incidents back-tested")
    incidents_changed: int = Field(description="Those the proposal would have judged differently")
    deviations_before: int = Field(description="Deviations under the versions the incidents ran with")
    deviations_after: int = Field(description="Deviations under the proposal")
    pages_moved: int = Field(description="Pages that would have gone out at another moment (R11's immediacy)")
    kinds: list[KindTotal] = Field(description="Each kind of deviation either side had")
    text: list[str] = Field(description="What would have been different, in sentences a manager reads")


class BacktestScope(BaseModel):
    """Which incidents were back-tested."""

    model_config = _answered(examples.BACKTEST["scope"])
    since: datetime | None = Field(description="Incidents declared from this moment on; null: no such limit")
    incidents: list[str] | None = Field(description="Only these incidents; null: every one since `since`")


class Backtest(BaseModel):
    """What a proposed process would have done to past incidents."""

    model_config = _answered(examples.BACKTEST)
    note: str = Field(description="What a back-test is: the real history judged against other rules")
    as_of: datetime = Field(description="When it was computed: open incidents are judged as of then")
    proposal: Literal["change", "document"] = Field(description="Whether a change or a whole document was proposed")
    scope: BacktestScope = Field(description="Which incidents were back-tested")
    warnings: list[str] = Field(description="What the proposal may have wrong, as PUT /v1/process says (R09, R10)")
    summary: BacktestSummary = Field(description="The totals, and the differences in words")
    incidents: list[IncidentBacktest] = Field(description="Each incident, in the order they were declared")

"""HTTP: the timers of an incident, for tools and people watching its deadlines."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from services.timers import readmodel
from shared.contract.downstream import TimerKind
from shared.text import Line
from shared.web import Caller

router = APIRouter(prefix="/v1", tags=["timers"])
TAGS = [{"name": "timers", "description": "The deadlines of an incident, pending, fired and cancelled"}]

# The kinds as a reader of the list meets them (the event contract names them; its schemas stay as they are).
KINDS = (
    "ack_due: the paged person has not acknowledged yet (R11); "
    "handover_warning: the manager's handover is due soon (R05); "
    "shift_limit: the manager reached the shift limit (R05); "
    "status_update_due: a worker's status update is due (R06); "
    "public_update_due: the PR manager's public update is due (R08); "
    "checklist_step_due: a step of the level's checklist is due (R14); "
    "worker_fresh: a worker has been on incidents for longer than the process allows (R19); "
    "observer_summary_due: the observers' summary of the workers' updates is due (R06/R07)"
)
EXAMPLE_INCIDENT = "0b7e6a4c-2f1d-4c8e-9a53-6d2f1c7b8e90"
EXAMPLE_TIMER: JsonDict = {
    "id": "5c0f4a8e-7b21-4d3a-b6f9-1e2d3c4b5a69",
    "kind": "ack_due",
    "incident_id": EXAMPLE_INCIDENT,
    "person": "8d9f1b2c-3e4a-4b5c-9d6e-7f8a9b0c1d2e",
    "due_at": "2026-03-01T09:35:00Z",
    "state": "fired",
    "fired_at": "2026-03-01T09:35:00.412Z",
}


class TimerOut(BaseModel):
    """One deadline of an incident, as the timers service keeps it."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_TIMER]})
    id: str = Field(description="The timer's id; its firing event carries it as `timer_id`")
    kind: TimerKind = Field(description=f"What falls due: {KINDS}")
    incident_id: str = Field(description="The incident the deadline belongs to")
    person: str | None = Field(
        description="The person id the deadline concerns (the paged SME, the manager, a worker), or null "
        "when it is the incident's as a whole"
    )
    due_at: datetime = Field(description="When it falls due, computed from the incident's process version")
    state: Literal["pending", "fired", "cancelled"] = Field(
        description="pending: not yet due (or due and about to fire); fired: its event was published at "
        "`fired_at`; cancelled: what it waited for happened first, or the incident ended"
    )
    fired_at: datetime | None = Field(description="When it fired; null unless `state` is fired")


class TimerList(BaseModel):
    """An incident's timers."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"timers": [EXAMPLE_TIMER]}]})
    timers: list[TimerOut] = Field(description="Every timer of the incident, earliest due first")


IncidentIdQuery = Annotated[
    str, Line(200, min_length=1), Query(description="The incident whose timers to list", examples=[EXAMPLE_INCIDENT])
]


@router.get("/timers", response_model=TimerList, summary="List an incident's timers")
async def list_timers(request: Request, caller: Caller, incident_id: IncidentIdQuery) -> TimerList:
    """Every deadline the timers service keeps for an incident — pending, fired and cancelled — earliest
    due first: acknowledgements, status and public updates, checklist steps, the manager's handover
    warning and shift limit, workers' freshness. A repeating deadline is a new timer each time. An
    incident not (yet) known here has none: an empty list, not 404. Anyone signed in may read them."""
    async with request.app.state.pool.acquire() as conn:
        rows = await readmodel.timers_of(conn, incident_id)
    # The read model's id is a UUID; the API shows it as text.
    return TimerList(timers=[TimerOut.model_validate(dict(row) | {"id": str(row["id"])}) for row in rows])

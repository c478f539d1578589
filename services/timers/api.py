"""HTTP: the timers of an incident, for tools and people watching its deadlines."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from services.timers import readmodel
from shared.contract.downstream import TimerKind
from shared.text import Line
from shared.web import Caller

router = APIRouter(prefix="/v1")


class TimerOut(BaseModel):
    id: str
    kind: TimerKind
    incident_id: str
    person: str | None
    due_at: datetime
    state: Literal["pending", "fired", "cancelled"]
    fired_at: datetime | None


class TimerList(BaseModel):
    timers: list[TimerOut]


@router.get("/timers", response_model=TimerList, summary="An incident's timers, by due time")
async def list_timers(
    request: Request, caller: Caller, incident_id: Annotated[str, Line(200, min_length=1), Query()]
) -> TimerList:
    async with request.app.state.pool.acquire() as conn:
        rows = await readmodel.timers_of(conn, incident_id)
    # The read model's id is a UUID; the API shows it as text.
    return TimerList(timers=[TimerOut.model_validate(dict(row) | {"id": str(row["id"])}) for row in rows])

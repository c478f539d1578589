"""HTTP: read an incident's post-mortem."""
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from services.postmortem import readmodel, report
from shared.problems import MEDIA_TYPE, Problem
from shared.web import Caller


class Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class Section(Out):
    id: str
    title: str
    generated: dict[str, Any] = Field(description="Facts computed from the events")
    text: str = Field(description="The narrative, or a prompt while nobody has written it")
    written: bool


class TimelineEntry(Out):
    at: datetime
    type: str
    actor: str | None
    actor_name: str | None
    summary: str


class Tenure(Out):
    from_: datetime = Field(alias="from")
    to: datetime | None = Field(description="null while still managing")


class Participant(Out):
    person: str
    name: str | None
    roles: list[str]
    tenures: list[Tenure] = Field(description="Manager tenure intervals")


class Durations(Out):
    to_resolve: float | None = Field(description="Seconds from declaration to resolution")
    at_level: dict[str, float] = Field(description="Seconds spent at each severity level")


class Postmortem(Out):
    incident_id: str
    state: Literal["draft", "published"]
    sections: list[Section]
    timeline: list[TimelineEntry]
    participants: list[Participant]
    adherence: list[dict[str, Any]]
    durations: Durations
    action_items: list[dict[str, Any]]


PROBLEMS = {status: {"content": {MEDIA_TYPE: {}}, "description": text}
            for status, text in ((401, "No, unknown or revoked token"), (404, "No such incident"))}

router = APIRouter(prefix="/v1/postmortems", tags=["post-mortems"])


@router.get("/{incident_id}", response_model=Postmortem, responses=PROBLEMS)
async def get_postmortem(incident_id: str, request: Request, caller: Caller) -> dict[str, Any]:
    """An incident's post-mortem: a draft from its declaration on (R16)."""
    async with request.app.state.pool.acquire() as conn:
        # One snapshot, so the timeline and participants agree with the draft they belong to.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            draft = await readmodel.draft(conn, incident_id)
            if draft is None:
                raise Problem(404, f"no post-mortem for incident {incident_id!r}")
            timeline = await readmodel.timeline(conn, incident_id)
            participants = await readmodel.participants(conn, incident_id)
            names = await readmodel.names(conn, report.people_to_name(timeline, participants))
    return report.document(draft, timeline, participants, names, request.app.state.clock.now())

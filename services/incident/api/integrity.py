"""HTTP: whether an incident's history is intact (S8), its hash chain recomputed from the store."""

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from services.incident import integrity
from services.incident.deps import App, Caller
from services.incident.schemas import example
from shared.openapi import problems
from shared.text import Id

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])

_HEAD = "sha256:5c8f3a8e0ad1f6e4b4e2d1c7a9b3f0e6d2c4a8b1e7f9d3c5a6b2e8f4d0c1a7b3"


class IntegrityOut(BaseModel):
    """Whether an incident's history is the one recorded: each event's `chainhash` recomputed from the store."""

    model_config = example(
        {"intact": True, "events": 7, "head": _HEAD}, {"intact": False, "events": 7, "head": _HEAD, "broken_at": 4}
    )
    intact: bool = Field(description="Every event is where it was recorded, unchanged, and none is missing")
    events: int = Field(description="How many events the store holds for the incident")
    head: str = Field(
        description="The chain recomputed over those events: the `chainhash` (`sha256:` and 64 lowercase hex "
        "digits) the last of them should carry; compare it with one computed from an export"
    )
    broken_at: int | None = Field(
        None,
        description="The `sequence` of the first event found missing, moved or changed (or, for a chain "
        "recomputed after an edit, the last event published, which no longer ends it); absent when intact",
    )


@router.get(
    "/{incident_id}/integrity",
    response_model=IntegrityOut,
    response_model_exclude_none=True,
    summary="Check an incident's history is intact",
    responses=problems(404, said={404: "No such incident"}),
)
async def check_incident_integrity(
    incident_id: Annotated[Id, Path(description="The incident's id")], app: App, actor: Caller
) -> IntegrityOut:
    """Anyone signed in (S8). Recomputes the incident's hash chain from the event store, never from a cache:
    each event's `chainhash` is `sha256:` and the SHA-256 of the previous event's (the empty string at
    sequence 1) followed by the RFC 8785 canonical JSON of its `{id, type, subject, sequence, time, data}`
    (docs/events.md). The history is compared with the chainhash stored with each event, with the incident's
    version (a deleted last event), and with the last event the relay published (a chain recomputed after an
    edit). An export (`Accept: application/x-ndjson` on the history) can be checked the same way offline:
    `warroom verify --file`."""
    verdict = await run_in_threadpool(integrity.check, app, incident_id)
    return IntegrityOut(intact=verdict.intact, events=verdict.events, head=verdict.head, broken_at=verdict.broken_at)

"""The notifier's HTTP resources: who was told what, and how each attempt went."""
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from services.notifier import readmodel
from shared.problems import Problem
from shared.web import Caller

router = APIRouter(prefix="/v1", tags=["deliveries"])


class Attempt(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None


class Delivery(BaseModel):
    id: str
    event_id: str
    event_type: str
    incident_id: str | None
    recipient: str
    channel: str
    reason: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    history: list[Attempt]


class DeliveryPage(BaseModel):
    deliveries: list[Delivery]
    next: str | None


@router.get("/deliveries", response_model=DeliveryPage)
async def list_deliveries(request: Request, caller: Caller,
                          incident_id: Annotated[str | None, Query(max_length=200)] = None,
                          person: Annotated[str | None, Query(max_length=200)] = None,
                          cursor: Annotated[str | None, Query(max_length=18)] = None,
                          limit: Annotated[int, Query(ge=1, le=500)] = 100) -> DeliveryPage:
    """Deliveries newest first, each with its attempts (newest first); filter by incident or recipient."""
    before = _position(cursor)
    async with request.app.state.pool.acquire() as conn:
        rows = await readmodel.deliveries(conn, incident_id=incident_id, person=person, before=before,
                                          limit=limit + 1)
    page = rows[:limit]
    return DeliveryPage(deliveries=[Delivery.model_validate(dict(row)) for row in page],
                        next=str(page[-1]["position"]) if len(rows) > limit else None)


def _position(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit()):
        raise Problem(422, "invalid request: cursor", errors=[{"field": "cursor", "message": "not a cursor"}])
    return int(cursor)

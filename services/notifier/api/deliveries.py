"""The notifier's deliveries: who was told what, how each attempt went, and sending one again."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from services.notifier import deliveries, endpoints, names
from services.notifier.permissions import require_admin
from shared import idempotency
from shared.problems import Problem
from shared.web import Caller

router = APIRouter(prefix="/v1", tags=["deliveries"])

# Identifiers and filters are printable text: PostgreSQL refuses NUL in text, others have no use.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
DeliveryId = Annotated[str, Path(max_length=64, pattern=PRINTABLE)]


class Attempt(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None


class Delivery(BaseModel):
    id: str  # also the webhook-id every attempt carries
    event_id: str
    event_type: str
    incident_id: str | None
    recipient: str  # a person id; a subscription id; "issue_tracker"
    channel: Literal["webhook", "email", "subscription", "issue_tracker"]
    reason: str
    state: Literal["pending", "delivered", "failed", "skipped", "refused", "disabled"]
    attempts: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    # Deferred to the recipient's waking or working hours (R11 immediacy) until then.
    not_before: datetime | None
    next_attempt_at: datetime | None
    history: list[Attempt]


class DeliveryPage(BaseModel):
    deliveries: list[Delivery]
    next: str | None


@router.get("/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    request: Request,
    caller: Caller,
    incident_id: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)] = None,
    person: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)] = None,
    cursor: Annotated[str | None, Query(max_length=18, pattern=r"^[0-9]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryPage:
    """Deliveries newest first, each with every attempt (newest first); filter by incident or recipient."""
    async with request.app.state.pool.acquire() as conn:
        rows = await deliveries.listing(
            conn, incident_id=incident_id, person=person, before=int(cursor) if cursor else None, limit=limit + 1
        )
    page = rows[:limit]
    return DeliveryPage(
        deliveries=[Delivery.model_validate(dict(row)) for row in page],
        next=str(page[-1]["position"]) if len(rows) > limit else None,
    )


@router.get("/deliveries/{delivery_id}", response_model=Delivery)
async def get_delivery(request: Request, caller: Caller, delivery_id: DeliveryId) -> Delivery:
    async with request.app.state.pool.acquire() as conn:
        return await _one(conn, delivery_id)


@router.post("/deliveries/{delivery_id}/redeliver", response_model=Delivery)
async def redeliver(request: Request, caller: Caller, delivery_id: DeliveryId) -> Delivery:
    """Admin: send it again now, under the same webhook-id; a disabled endpoint is enabled again (F8)."""
    require_admin(caller, "redeliver")
    # With an Idempotency-Key, the key's answer commits with this work (shared/idempotency.py).
    async with idempotency.transaction(request.app.state.pool) as conn:
        row = await deliveries.lock(conn, delivery_id)
        if row is None:
            raise Problem(404, f"no delivery {delivery_id!r}")
        if row["state"] == "pending":
            raise Problem(409, "the delivery is pending already: it is sent when due")
        if row["target"] is None:
            raise Problem(409, f"the delivery has nowhere to go: {row['state']} ({row['channel']})")
        await endpoints.enable_endpoint(conn, names.endpoint(row["channel"], row["recipient"], row["target"]))
        await deliveries.redeliver(conn, delivery_id, request.app.state.clock.now())
        redelivered = await _one(conn, delivery_id)
    request.app.state.wake_worker()  # the commit's NOTIFY wakes it too (worker.listen); this is sooner here
    return redelivered


async def _one(conn, delivery_id: str) -> Delivery:
    rows = await deliveries.listing(conn, incident_id=None, person=None, delivery_id=delivery_id)
    if not rows:
        raise Problem(404, f"no delivery {delivery_id!r}")
    return Delivery.model_validate(dict(rows[0]))


class Endpoint(BaseModel):
    endpoint: str  # a URL's origin (scheme://host:port), or "smtp" for the mail server
    # closed: delivered to; open: parked until parked_until, its deliveries held;
    # half_open: one delivery sent as the probe, whose outcome closes or parks it again.
    state: Literal["closed", "open", "half_open"]
    consecutive_failures: int
    parked_times: int  # parkings in a row: each lasts twice as long, up to 5 minutes
    parked_until: datetime | None
    last_error: str | None
    changed_at: datetime
    pending: int  # deliveries waiting for it, held ones included
    held: int


class EndpointList(BaseModel):
    endpoints: list[Endpoint]


@router.get("/endpoints", response_model=EndpointList, tags=["deliveries"])
async def list_endpoints(request: Request, caller: Caller) -> EndpointList:
    """Admin: every endpoint that ever failed, with its circuit breaker's state (F14), parked first."""
    require_admin(caller, "read the endpoints' state")
    async with request.app.state.pool.acquire() as conn:
        rows = await endpoints.circuits(conn)
    return EndpointList(endpoints=[Endpoint.model_validate(dict(row)) for row in rows])


class SigningSecrets(BaseModel):
    source: Literal["settings", "generated"]
    # Only a generated secret is shown; configured ones are the operator's to know.
    secrets: list[str]


@router.get("/signing-secrets", response_model=SigningSecrets, tags=["signing"])
async def signing_secrets(request: Request, caller: Caller) -> SigningSecrets:
    """Admin: the Standard Webhooks secret(s) people's webhooks and the issue tracker are signed with (S5)."""
    require_admin(caller, "read the signing secrets")
    generated = request.app.state.secrets_generated
    return SigningSecrets(
        source="generated" if generated else "settings", secrets=request.app.state.signing_keys if generated else []
    )

"""The notifier's deliveries: who was told what, how each attempt went, and sending one again; the
endpoints' circuit breakers and the signing secrets beside them."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from services.notifier import deliveries, endpoints, names
from services.notifier.permissions import require_admin
from services.notifier.schemas import Delivery, DeliveryPage, Endpoint, EndpointList, SigningSecrets
from shared import idempotency
from shared.openapi import problems
from shared.problems import Problem
from shared.web import Caller

router = APIRouter(prefix="/v1")

ADMIN_ONLY = "Only an admin may"
# Identifiers and filters are printable text: PostgreSQL refuses NUL in text, others have no use.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
DeliveryId = Annotated[
    str,
    Path(
        max_length=64,
        pattern=PRINTABLE,
        description="The delivery's id (the webhook-id its attempts carry)",
        examples=["7c9e6679-7425-40de-944b-e07fc1f90ae7"],
    ),
]
IncidentFilter = Annotated[
    str | None, Query(max_length=200, pattern=PRINTABLE, description="Only the deliveries about this incident")
]
RecipientFilter = Annotated[
    str | None,
    Query(
        max_length=200,
        pattern=PRINTABLE,
        description="Only the deliveries to this recipient: a person id, a subscription id or issue_tracker",
    ),
]
Cursor = Annotated[
    str | None,
    Query(max_length=18, pattern=r"^[0-9]+$", description="The `next` of the previous page; absent: the newest"),
]
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many deliveries")]


@router.get("/deliveries", response_model=DeliveryPage, tags=["deliveries"], summary="List deliveries")
async def list_deliveries(
    request: Request,
    caller: Caller,
    incident_id: IncidentFilter = None,
    person: RecipientFilter = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> DeliveryPage:
    """Deliveries newest first, each with every attempt (newest first); filter by incident or recipient,
    and page with `cursor`. Anyone signed in may read them."""
    async with request.app.state.pool.acquire() as conn:
        rows = await deliveries.listing(
            conn, incident_id=incident_id, person=person, before=int(cursor) if cursor else None, limit=limit + 1
        )
    page = rows[:limit]
    return DeliveryPage(
        deliveries=[Delivery.model_validate(dict(row)) for row in page],
        next=str(page[-1]["position"]) if len(rows) > limit else None,
    )


@router.get(
    "/deliveries/{delivery_id}",
    response_model=Delivery,
    tags=["deliveries"],
    summary="Read a delivery",
    responses=problems(404, said={404: "No such delivery"}),
)
async def get_delivery(request: Request, caller: Caller, delivery_id: DeliveryId) -> Delivery:
    """One delivery with every attempt (newest first). Anyone signed in may read it."""
    async with request.app.state.pool.acquire() as conn:
        return await _one(conn, delivery_id)


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    response_model=Delivery,
    tags=["deliveries"],
    summary="Send a delivery again",
    responses=problems(
        403,
        404,
        409,
        said={
            403: f"{ADMIN_ONLY} redeliver",
            404: "No such delivery",
            409: "The delivery is still pending, or has nowhere to go",
        },
    ),
)
async def redeliver_delivery(request: Request, caller: Caller, delivery_id: DeliveryId) -> Delivery:
    """Admin: send it again now, under the same webhook-id; a disabled endpoint is enabled again (F8).
    Refused (409) while it is still pending, and for one that has nowhere to go (skipped)."""
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


@router.get(
    "/endpoints",
    response_model=EndpointList,
    tags=["deliveries"],
    summary="List failing endpoints",
    responses=problems(403, said={403: f"{ADMIN_ONLY} read the endpoints' state"}),
)
async def list_endpoints(request: Request, caller: Caller) -> EndpointList:
    """Admin: every endpoint that ever failed, with its circuit breaker's state (F14), parked first."""
    require_admin(caller, "read the endpoints' state")
    async with request.app.state.pool.acquire() as conn:
        rows = await endpoints.circuits(conn)
    return EndpointList(endpoints=[Endpoint.model_validate(dict(row)) for row in rows])


@router.get(
    "/signing-secrets",
    response_model=SigningSecrets,
    tags=["signing"],
    summary="Read the signing secrets",
    responses=problems(403, said={403: f"{ADMIN_ONLY} read the signing secrets"}),
)
async def get_signing_secrets(request: Request, caller: Caller) -> SigningSecrets:
    """Admin: the Standard Webhooks secret(s) people's webhooks and the issue tracker are signed with (S5),
    for receivers to verify the signatures; shown only when the notifier generated it."""
    require_admin(caller, "read the signing secrets")
    generated = request.app.state.secrets_generated
    return SigningSecrets(
        source="generated" if generated else "settings", secrets=request.app.state.signing_keys if generated else []
    )

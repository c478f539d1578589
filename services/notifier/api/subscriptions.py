"""Subscriptions: other systems follow the events, every matching CloudEvent POSTed to them, signed."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.notifier import deliveries, endpoints, guard, names, readmodel, signing
from services.notifier.permissions import require_admin
from shared import idempotency
from shared.problems import Problem
from shared.text import Id, Url
from shared.web import Caller

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])

SubscriptionId = Id


def _secret(value: str) -> str:
    signing.decode(value)  # ValueError → 422 naming the field
    return value


Secret = Annotated[
    str,
    Field(max_length=100, pattern=signing.SHAPE.pattern, examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]),
    AfterValidator(_secret),
]
# Types or patterns: "*" matches any run of characters, dots included ("warroom.incident.*").
Pattern = Annotated[str, Field(max_length=200, pattern=r"^(\*|warroom\.[a-z0-9_.*]+)$")]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Url
    event_types: Annotated[list[Pattern], Field(min_length=1, max_length=50)]
    # A Standard Webhooks secret (whsec_ + 24 to 64 bytes in base64) the deliveries are signed with.
    secret: Secret


class SecretsIn(BaseModel):
    """Rotation: list the new secret and the old one; both sign until the old one is left out."""

    model_config = ConfigDict(extra="forbid")
    secrets: Annotated[list[Secret], Field(min_length=1, max_length=2)]


class Created(BaseModel):
    id: str


class Subscription(BaseModel):
    id: str
    url: str
    event_types: list[str]
    created_at: datetime
    # Set when the endpoint answered 410 Gone; an admin's redelivery to it enables it again.
    disabled_at: datetime | None


class SubscriptionList(BaseModel):
    subscriptions: list[Subscription]
    next: str | None = None


@router.post("", status_code=201, response_model=Created)
async def subscribe(body: SubscriptionIn, request: Request, caller: Caller) -> JSONResponse:
    """Admin: deliver every event whose type matches, signed with ``secret``, in order per incident."""
    require_admin(caller, "subscribe to the events")
    try:
        await guard.resolve(body.url, request.app.state.allowlist)
    except guard.ForbiddenTarget as exc:
        raise Problem(422, str(exc), rule="S4", errors=[{"field": "url", "message": str(exc)}]) from None
    except OSError as exc:
        raise Problem(
            422,
            f"cannot resolve the URL's host: {exc}",
            errors=[{"field": "url", "message": "cannot resolve its host"}],
        ) from None

    subscription_id = str(uuid.uuid4())
    # With an Idempotency-Key, the key's answer commits with the subscription (shared/idempotency.py).
    async with idempotency.transaction(request.app.state.pool) as conn:
        await readmodel.add_subscription(
            conn,
            id=subscription_id,
            url=body.url,
            event_types=body.event_types,
            secret=body.secret,
            by=caller["id"],
            at=request.app.state.clock.now(),
        )
    return JSONResponse(
        {"id": subscription_id}, status_code=201, headers={"Location": f"/v1/subscriptions/{subscription_id}"}
    )


@router.get("", response_model=SubscriptionList)
async def list_subscriptions(request: Request, caller: Caller) -> SubscriptionList:
    """Admin: every subscription, oldest first (secrets are never shown)."""
    require_admin(caller, "read the subscriptions")
    async with request.app.state.pool.acquire() as conn:
        rows = await readmodel.subscriptions(conn)
    return SubscriptionList(subscriptions=[Subscription.model_validate(dict(row)) for row in rows])


@router.get("/{subscription_id}", response_model=Subscription)
async def get_subscription(subscription_id: SubscriptionId, request: Request, caller: Caller) -> Subscription:
    require_admin(caller, "read the subscriptions")
    async with request.app.state.pool.acquire() as conn:
        return await _one(conn, subscription_id)


@router.put("/{subscription_id}/secrets", response_model=Subscription)
async def rotate(subscription_id: SubscriptionId, body: SecretsIn, request: Request, caller: Caller) -> Subscription:
    """Admin: the secrets that sign from now on, retries of earlier deliveries included (S5)."""
    require_admin(caller, "rotate a subscription's secrets")
    async with request.app.state.pool.acquire() as conn:
        if not await readmodel.set_subscription_secrets(conn, subscription_id, list(dict.fromkeys(body.secrets))):
            raise Problem(404, f"no subscription {subscription_id!r}")
        return await _one(conn, subscription_id)


@router.delete("/{subscription_id}", status_code=204)
async def unsubscribe(subscription_id: SubscriptionId, request: Request, caller: Caller) -> Response:
    """Admin: stop delivering; what was still queued for it is dropped (state ``disabled``)."""
    require_admin(caller, "delete a subscription")
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        if not await readmodel.delete_subscription(conn, subscription_id):
            raise Problem(404, f"no subscription {subscription_id!r}")
        await deliveries.end_pending_of(conn, subscription_id, names.SUBSCRIPTION, "the subscription was deleted")
        await endpoints.enable_endpoint(conn, names.endpoint(names.SUBSCRIPTION, subscription_id, None))
    return Response(status_code=204)


async def _one(conn, subscription_id: str) -> Subscription:
    row = await readmodel.subscription(conn, subscription_id)
    if row is None:
        raise Problem(404, f"no subscription {subscription_id!r}")
    return Subscription.model_validate(dict(row))

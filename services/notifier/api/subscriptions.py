"""Subscriptions: other systems follow the events, every matching CloudEvent POSTed to them, signed."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse

from services.notifier import deliveries, endpoints, guard, names, readmodel
from services.notifier.permissions import require_admin
from services.notifier.schemas import (
    EXAMPLE_SUBSCRIPTION,
    Created,
    SecretsIn,
    Subscription,
    SubscriptionIn,
    SubscriptionList,
)
from shared import idempotency
from shared.openapi import problems, with_headers
from shared.problems import Problem
from shared.text import Id
from shared.web import Caller

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])

ONLY_ADMINS = {403: "Only an admin may manage subscriptions"}
MISSING = {404: "No such subscription"}
SubscriptionId = Annotated[Id, Path(description="The subscription's id", examples=[EXAMPLE_SUBSCRIPTION])]


@router.post(
    "",
    status_code=201,
    response_model=Created,
    summary="Subscribe to the events",
    responses=problems(
        403, 422, said=ONLY_ADMINS | {422: "The body is invalid, or the SSRF guard refuses its URL (S4)"}
    )
    | with_headers(201, "Location"),
)
async def create_subscription(body: SubscriptionIn, request: Request, caller: Caller) -> JSONResponse:
    """Admin: deliver every event whose type matches, as a CloudEvent (`application/cloudevents+json`)
    signed per Standard Webhooks with ``secret``, one incident's events in order. The URL is checked
    by the SSRF guard (S4) now and at every delivery."""
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


@router.get(
    "", response_model=SubscriptionList, summary="List the subscriptions", responses=problems(403, said=ONLY_ADMINS)
)
async def list_subscriptions(request: Request, caller: Caller) -> SubscriptionList:
    """Admin: every subscription, oldest first (secrets are never shown)."""
    require_admin(caller, "read the subscriptions")
    async with request.app.state.pool.acquire() as conn:
        rows = await readmodel.subscriptions(conn)
    return SubscriptionList(subscriptions=[Subscription.model_validate(dict(row)) for row in rows])


@router.get(
    "/{subscription_id}",
    response_model=Subscription,
    summary="Read a subscription",
    responses=problems(403, 404, said=ONLY_ADMINS | MISSING),
)
async def get_subscription(subscription_id: SubscriptionId, request: Request, caller: Caller) -> Subscription:
    """Admin: one subscription, and whether a 410 Gone disabled it (its secrets are never shown)."""
    require_admin(caller, "read the subscriptions")
    async with request.app.state.pool.acquire() as conn:
        return await _one(conn, subscription_id)


@router.put(
    "/{subscription_id}/secrets",
    response_model=Subscription,
    summary="Rotate a subscription's secrets",
    responses=problems(403, 404, said=ONLY_ADMINS | MISSING),
)
async def rotate_subscription_secrets(
    subscription_id: SubscriptionId, body: SecretsIn, request: Request, caller: Caller
) -> Subscription:
    """Admin: the secrets that sign from now on, retries of earlier deliveries included (S5). To rotate,
    send the new secret and the old one, then, once the receiver knows the new one, the new one alone."""
    require_admin(caller, "rotate a subscription's secrets")
    async with request.app.state.pool.acquire() as conn:
        if not await readmodel.set_subscription_secrets(conn, subscription_id, list(dict.fromkeys(body.secrets))):
            raise Problem(404, f"no subscription {subscription_id!r}")
        return await _one(conn, subscription_id)


@router.delete(
    "/{subscription_id}",
    status_code=204,
    summary="Delete a subscription",
    responses=problems(403, 404, said=ONLY_ADMINS | MISSING),
)
async def delete_subscription(subscription_id: SubscriptionId, request: Request, caller: Caller) -> Response:
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

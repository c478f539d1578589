"""The HTTP conventions every service keeps (README, "Calling the API"), on the post-mortem service: an optional
Idempotency-Key on every POST (F10), a rate limit per token (S7), and the incident service's
"retry later" passed back to whoever applies a refinement (R17)."""

import asyncio
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.clock import FakeClock
from tests.support.incident import auth, eventually
from tests.support.org import organisation
from tests.support.postmortem import (
    ACTION_ITEMS,
    INCIDENT,
    TOKENS,
    both_services,
    checkout_incident,
    has,
    postmortem_service,
    projected,
    publish_all,
    write_postmortem,
)

ITEM = {"title": "Alert on disk usage", "kind": "prevention", "due": "2026-12-01"}


async def _declared(incidents, postmortems) -> tuple:
    org = await organisation(incidents)
    incident = await org.declare()  # Sam, the first SME, manages
    await projected(postmortems, incident["id"], org.people["Sam"][1], has("declared"))
    return org, f"/v1/postmortems/{incident['id']}"


async def test_f10_an_action_item_posted_again_with_the_same_idempotency_key_is_added_once(database_url, nats_url):
    async with both_services(database_url, nats_url) as (incidents, postmortems):
        org, base = await _declared(incidents, postmortems)
        body = {**ITEM, "owner": org.id("Wes")}

        def post(key: str, json: dict):
            return postmortems.post(
                f"{base}/action-items", json=json, headers={**org.as_("Sam"), "Idempotency-Key": key}
            )

        first = await post("disk-alert", body)
        retries = await asyncio.gather(*(post("disk-alert", body) for _ in range(3)))
        other_body = await post("disk-alert", {**body, "title": "Something else"})
        other_key = await post("second-item", body)
        items = (await postmortems.get(base, headers=org.as_("Sam"))).json()["action_items"]

    assert first.status_code == 201, first.text
    for retry in retries:
        assert (retry.status_code, retry.json(), retry.headers["location"]) == (
            201,
            first.json(),
            first.headers["location"],
        )
        assert retry.headers["idempotent-replayed"] == "true"
    assert other_body.status_code == 422
    assert other_body.headers["content-type"] == "application/problem+json"
    assert "Idempotency-Key" in other_body.json()["detail"]
    assert other_key.status_code == 201 and other_key.json()["id"] != first.json()["id"]
    assert [item["title"] for item in items] == [ITEM["title"], ITEM["title"]]


async def test_s7_the_post_mortem_service_limits_each_token_with_429_and_retry_after(database_url, nats_url):
    async with both_services(database_url, nats_url, rate_limit_per_second=0.5, rate_limit_burst=3) as (
        incidents,
        postmortems,
    ):
        org = await organisation(incidents)
        sam, wes = org.as_("Sam"), org.as_("Wes")
        # The token is known once the post-mortem service has projected it (401 before).
        await eventually(lambda: _status(postmortems, sam, expect=404), timeout=15)
        # The probe drew from the bucket too: within the burst of 3, Sam's requests are refused.
        answers = [await postmortems.get("/v1/postmortems/none", headers=sam) for _ in range(4)]
        another_token = await postmortems.get("/v1/postmortems/none", headers=wes)
        health = await postmortems.get("/healthz")

    statuses = [answer.status_code for answer in answers]
    assert 429 in statuses and set(statuses[: statuses.index(429)]) <= {404}, statuses
    refused = answers[statuses.index(429)]
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert another_token.status_code in (401, 404)  # Wes's bucket is his own
    assert health.status_code == 200


async def _status(client, headers: dict, expect: int) -> bool:
    return (await client.get("/v1/postmortems/none", headers=headers)).status_code == expect


def not_yet_seen_service(received: list) -> FastAPI:
    """An incident service that has not yet seen the action item: 503 with Retry-After, as it answers
    for up to 5 s before the item reaches it from the post-mortem stream."""
    app = FastAPI()

    @app.post("/v1/process/refinements")
    async def refine(request: Request) -> JSONResponse:
        received.append((await request.json(), request.headers["authorization"]))
        return JSONResponse(
            {
                "type": "about:blank",
                "title": "Service unavailable",
                "status": 503,
                "rule": "R17",
                "detail": "that action item has not reached the incident service yet",
            },
            status_code=503,
            headers={"Retry-After": "2"},
            media_type="application/problem+json",
        )

    return app


async def test_r17_applying_forwards_the_recorded_item_and_passes_a_503_back_with_its_retry_after(
    database_url, nats_url
):
    received: list = []
    clock = FakeClock(datetime(2026, 1, 6, 10, 0, tzinfo=UTC))
    async with postmortem_service(database_url, nats_url, clock=clock, incident_app=not_yet_seen_service(received)) as (
        client,
        _,
    ):
        await publish_all(nats_url, checkout_incident())
        await projected(client, INCIDENT, TOKENS["rita"], has("resolved"))
        await write_postmortem(client, clock)  # item 3 is the process refinement
        retry_later = await client.post(f"/v1/postmortems/{INCIDENT}/action-items/3/apply", headers=auth(TOKENS["bob"]))
        item = (await client.get(f"/v1/postmortems/{INCIDENT}", headers=auth(TOKENS["bob"]))).json()["action_items"][2]

    assert retry_later.status_code == 503
    assert retry_later.headers["retry-after"] == "2"
    assert retry_later.headers["content-type"] == "application/problem+json"
    assert retry_later.json()["rule"] == "R17"
    refinement = ACTION_ITEMS[2][1]
    assert received == [
        ({"postmortem": INCIDENT, "action_item": 3, "change": refinement["change"]}, f"Bearer {TOKENS['bob']}")
    ]
    assert (item["applied_version"], item["applied_at"], item["applied_by"]) == (None, None, None)

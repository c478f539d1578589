"""F10: an Idempotency-Key makes a POST safe to retry, one after another or at the same moment."""

import asyncio
import uuid

import pytest
from fastapi import Response

from shared import idempotency
from shared.problems import Problem
from tests.support.incident import auth, eventually, incident_service, register
from tests.support.streams import stream_events

DECLARATION = {"title": "Checkout failing", "description": "payments answer 500", "aspect": "servers", "severity": 2}


async def _org(client) -> dict[str, tuple[str, str]]:
    """Sam is the SME of 'servers'; Pat and Wes are signed in. {name: (person id, token)}."""
    people = {name: await register(client, name) for name in ("Sam", "Pat", "Wes")}
    response = await client.put("/v1/directory/aspects/servers", json={"smes": [people["Sam"][0]]})
    assert response.status_code == 200, response.text
    return people


def _keyed(token: str, key: str) -> dict[str, str]:
    return {**auth(token), "Idempotency-Key": key}


async def _declared_on_stream(client, nats_url: str, title: str) -> list[str]:
    """Ids of incidents declared with ``title``, once everything stored so far is on the stream.

    The relay publishes in store order, so once a declaration made now is on the stream, every
    earlier one is too.
    """
    marker = (await client.post("/v1/incidents", json={**DECLARATION, "title": f"marker {uuid.uuid4()}"})).json()

    async def published():
        events = await stream_events(nats_url, "WARROOM_INCIDENT")
        return events if any(e.subject == marker["id"] for e in events) else None

    events = await eventually(published)
    return [e.subject for e in events if e.type == "warroom.incident.declared.v1" and e.data["title"] == title]


async def test_f10_a_retried_declaration_answers_the_first_response_and_declares_once(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        pat = (await _org(client))["Pat"][1]
        key = str(uuid.uuid4())
        first = await client.post("/v1/incidents", json=DECLARATION, headers=_keyed(pat, key))
        retry = await client.post("/v1/incidents", json=DECLARATION, headers=_keyed(pat, key))
        assert first.status_code == retry.status_code == 201, first.text
        assert retry.json() == first.json()
        for header in ("Location", "ETag", "Content-Type"):
            assert retry.headers[header] == first.headers[header]
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert await _declared_on_stream(client, nats_url, DECLARATION["title"]) == [first.json()["id"]]


async def test_f10_concurrent_retries_wait_for_the_first_and_get_its_response(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        pat = (await _org(client))["Pat"][1]
        key = str(uuid.uuid4())
        answers = await asyncio.gather(
            *(client.post("/v1/incidents", json=DECLARATION, headers=_keyed(pat, key)) for _ in range(8))
        )
        assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
        assert len({a.text for a in answers}) == 1
        assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
        assert await _declared_on_stream(client, nats_url, DECLARATION["title"]) == [answers[0].json()["id"]]


async def test_f10_the_same_key_for_another_request_is_422_naming_the_key(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await _org(client)
        pat = people["Pat"][1]
        key = "declare-checkout-42"
        first = await client.post("/v1/incidents", json=DECLARATION, headers=_keyed(pat, key))
        assert first.status_code == 201, first.text
        other_body = await client.post("/v1/incidents", json={**DECLARATION, "severity": 1}, headers=_keyed(pat, key))
        other_path = await client.post(
            f"/v1/incidents/{first.json()['id']}/workers", json={"person": people["Wes"][0]}, headers=_keyed(pat, key)
        )
        for refused in (other_body, other_path):
            assert refused.status_code == 422
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert key in refused.json()["detail"]
            assert refused.json()["errors"][0]["field"] == "Idempotency-Key"
        assert await _declared_on_stream(client, nats_url, DECLARATION["title"]) == [first.json()["id"]]


async def test_f10_keys_are_scoped_per_caller(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        people = await _org(client)
        key = str(uuid.uuid4())
        by_pat = await client.post("/v1/incidents", json=DECLARATION, headers=_keyed(people["Pat"][1], key))
        by_wes = await client.post("/v1/incidents", json=DECLARATION, headers=_keyed(people["Wes"][1], key))
        assert by_pat.status_code == by_wes.status_code == 201
        assert by_pat.json()["id"] != by_wes.json()["id"]
        assert "Idempotent-Replayed" not in by_wes.headers


async def test_f10_a_refusal_is_replayed_but_a_failure_leaves_the_key_free(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        pat = (await _org(client))["Pat"][1]
        refused = await client.post(
            "/v1/incidents", json={**DECLARATION, "aspect": "billing"}, headers=_keyed(pat, "no-sme")
        )
        assert refused.status_code == 409 and refused.json()["rule"] == "R10"
        replayed = await client.post(
            "/v1/incidents", json={**DECLARATION, "aspect": "billing"}, headers=_keyed(pat, "no-sme")
        )
        assert replayed.status_code == 409 and replayed.json() == refused.json()

        # An endpoint that fails twice (a 503, then an exception) before it succeeds: each try runs.
        attempts = []

        def flaky(response: Response):
            attempts.append(len(attempts) + 1)
            if len(attempts) == 1:
                raise Problem(503, "the event store is unavailable")
            if len(attempts) == 2:
                raise RuntimeError("the command crashed")
            response.status_code = 201
            return {"attempt": attempts[-1]}

        app.router.add_api_route("/v1/test/flaky", flaky, methods=["POST"])
        keyed = _keyed(pat, "flaky-1")
        assert (await client.post("/v1/test/flaky", json={}, headers=keyed)).status_code == 503
        with pytest.raises(RuntimeError):
            await client.post("/v1/test/flaky", json={}, headers=keyed)
        succeeded = await client.post("/v1/test/flaky", json={}, headers=keyed)
        retried = await client.post("/v1/test/flaky", json={}, headers=keyed)
        assert succeeded.status_code == retried.status_code == 201
        assert succeeded.json() == retried.json() == {"attempt": 3}
        assert attempts == [1, 2, 3]


async def test_f10_a_retry_waits_for_the_first_attempt_and_runs_itself_when_that_fails(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        pat = (await _org(client))["Pat"][1]
        attempts, release_first = [], asyncio.Event()

        async def slow_then_fine(response: Response):
            attempts.append(len(attempts) + 1)
            if len(attempts) == 1:
                await release_first.wait()
                raise Problem(503, "the event store is unavailable")
            response.status_code = 201
            return {"attempt": attempts[-1]}

        app.router.add_api_route("/v1/test/slow", slow_then_fine, methods=["POST"])
        keyed = _keyed(pat, "slow-1")
        first = asyncio.create_task(client.post("/v1/test/slow", json={}, headers=keyed))
        try:
            await eventually(lambda: attempts == [1])
            retry = asyncio.create_task(client.post("/v1/test/slow", json={}, headers=keyed))
            # The retry is parked in PostgreSQL on the first attempt's key, not running the endpoint.
            await eventually(
                lambda: app.state.pool.fetchval(
                    "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            )
            assert attempts == [1]
        finally:
            release_first.set()
        assert (await first).status_code == 503
        assert (await retry).status_code == 201 and (await retry).json() == {"attempt": 2}
        replayed = await client.post("/v1/test/slow", json={}, headers=keyed)
        assert replayed.json() == {"attempt": 2} and attempts == [1, 2]


async def test_f10_a_key_is_kept_for_24_hours_then_counts_as_new(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        pat = (await _org(client))["Pat"][1]
        first = await client.post("/v1/incidents", json=DECLARATION, headers=_keyed(pat, "daily"))
        kept = await app.state.pool.fetchval("SELECT expires_at - now() FROM idempotency_keys WHERE key = 'daily'")
        assert 23.9 * 3600 < kept.total_seconds() <= 24 * 3600
        await app.state.pool.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
        again = await client.post("/v1/incidents", json=DECLARATION, headers=_keyed(pat, "daily"))
        assert again.status_code == 201 and again.json()["id"] != first.json()["id"]

        await app.state.pool.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
        expiry = asyncio.create_task(idempotency.expire_keys(app.state.pool))
        try:
            await eventually(lambda: app.state.pool.fetchval("SELECT count(*) = 0 FROM idempotency_keys"))
        finally:
            expiry.cancel()


async def test_f10_a_malformed_key_is_422_and_changes_nothing(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        pat = (await _org(client))["Pat"][1]
        refused = await client.post("/v1/incidents", json=DECLARATION, headers=_keyed(pat, "x" * 256))
        assert refused.status_code == 422
        assert refused.json()["errors"] == [{"field": "Idempotency-Key", "message": "malformed"}]
        assert await _declared_on_stream(client, nats_url, DECLARATION["title"]) == []

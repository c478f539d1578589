"""API tokens over HTTP: labelled and expiring, listed without their secrets, given an expiry and revoked by
their own person — and an expired or revoked token refused by every service, console sessions with it."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

from services.incident import organisation_app
from tests.support.incident import auth, eventually, incident_service, register
from tests.support.timers import timers_service


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def _issue(client, person_id: str, **fields) -> tuple[str, str]:
    response = await client.post("/v1/tokens", json={"person_id": person_id, **fields})
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["token"]


async def _status(client, token: str, path: str = "/v1/people") -> int:
    return (await client.get(path, headers=auth(token))).status_code


async def test_tokens_a_person_lists_theirs_with_label_and_last_use_never_a_secret(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        ada_id, first = await register(client, "Ada")
        _, bob = await register(client, "Bob")
        laptop_id, laptop = await _issue(client, ada_id, label="laptop", expires_at=_in(3600))
        assert await _status(client, laptop) == 200  # used once: its last use is recorded

        listed = await client.get(f"/v1/people/{ada_id}/tokens", headers=auth(first))
        assert listed.status_code == 200, listed.text
        tokens = listed.json()["tokens"]
        assert [t["id"] for t in tokens][0] == laptop_id and len(tokens) == 2  # newest first
        newest = tokens[0]
        assert (newest["label"], newest["revoked"], newest["expired"], newest["parent"]) == (
            "laptop",
            False,
            False,
            None,
        )
        assert newest["expires_at"] is not None and newest["last_used_at"] is not None and newest["created_at"]
        text = json.dumps(listed.json())
        assert laptop not in text and first not in text and "hash" not in text

        paged = await client.get(f"/v1/people/{ada_id}/tokens", params={"limit": 1}, headers=auth(first))
        rest = await client.get(
            f"/v1/people/{ada_id}/tokens", params={"cursor": paged.json()["next"]}, headers=auth(first)
        )
        assert [t["id"] for t in paged.json()["tokens"] + rest.json()["tokens"]] == [t["id"] for t in tokens]
        assert rest.json()["next"] is None

        assert (await client.get(f"/v1/people/{ada_id}/tokens", headers=auth(bob))).status_code == 403
        assert (await client.get(f"/v1/people/{ada_id}/tokens")).status_code == 200  # the admin
        assert (await client.get("/v1/people/nobody/tokens")).status_code == 404


async def test_tokens_a_person_revokes_their_own_lost_token_and_nobody_elses(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        ada_id, ada = await register(client, "Ada")
        _, bob = await register(client, "Bob")
        lost_id, lost = await _issue(client, ada_id, label="lost phone")
        assert (await client.delete(f"/v1/tokens/{lost_id}", headers=auth(bob))).status_code == 403
        assert await _status(client, lost) == 200
        assert (await client.delete(f"/v1/tokens/{lost_id}", headers=auth(ada))).status_code == 204
        assert await _status(client, lost) == 401 and await _status(client, ada) == 200
        listed = (await client.get(f"/v1/people/{ada_id}/tokens", headers=auth(ada))).json()["tokens"]
        assert next(t for t in listed if t["id"] == lost_id)["revoked"] is True


async def test_tokens_revoking_a_token_ends_the_console_sessions_opened_with_it(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        ada_id, _ = await register(client, "Ada")
        signed_in_id, signed_in = await _issue(client, ada_id, label="used to sign in")
        people = app.state.application.people
        session_id, session = await asyncio.to_thread(people.open_session, signed_in, ada_id, 600, "console")
        listed = (await client.get(f"/v1/people/{ada_id}/tokens")).json()["tokens"]
        assert next(t for t in listed if t["id"] == session_id)["parent"] == signed_in_id

        assert (await client.delete(f"/v1/tokens/{signed_in_id}")).status_code == 204
        assert await asyncio.to_thread(people.session_actor, session) is None
        assert await _status(client, session) == 401


async def test_tokens_an_expired_token_is_refused_by_every_service(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _), timers_service(database_url, nats_url) as t:
        ada_id, _ = await register(client, "Ada")
        _, brief = await _issue(client, ada_id, expires_at=_in(5))
        timers_path = "/v1/timers?incident_id=none"
        await eventually(lambda: _answers(t, brief, timers_path, 200))  # projected, and valid for now
        assert await _status(client, brief) == 200

        await eventually(lambda: _answers(client, brief, "/v1/people", 401), timeout=6)
        assert await _status(t, brief, timers_path) == 401


async def test_tokens_expiry_is_brought_forward_by_the_person_and_extended_only_by_an_admin(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _), timers_service(database_url, nats_url) as t:
        ada_id, ada = await register(client, "Ada")
        token_id, token = await _issue(client, ada_id, expires_at=_in(3600))
        url = f"/v1/tokens/{token_id}"

        sooner = await client.patch(url, json={"expires_at": _in(1800)}, headers=auth(ada))
        assert sooner.status_code == 200, sooner.text
        later = await client.patch(url, json={"expires_at": _in(7200)}, headers=auth(ada))
        assert later.status_code == 403 and "only an admin" in later.json()["detail"]
        assert (await client.patch(url, json={"expires_at": _in(7200)})).status_code == 200
        for past in (_in(-60), "2026-01-01T09:00:00"):  # in the past; without a timezone
            refused = await client.patch(url, json={"expires_at": past})
            assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "expires_at"
        issued_late = await client.post("/v1/tokens", json={"person_id": ada_id, "expires_at": _in(-1)})
        assert issued_late.status_code == 422

        # Ending it now: every service refuses it within moments (the expiry travels as an event).
        timers_path = "/v1/timers?incident_id=none"
        await eventually(lambda: _answers(t, token, timers_path, 200))
        assert (await client.patch(url, json={"expires_at": _in(1.5)}, headers=auth(ada))).status_code == 200
        await eventually(lambda: _answers(t, token, timers_path, 401), timeout=6)
        assert await _status(client, token) == 401


async def _answers(client, token: str, path: str, status: int) -> bool:
    return await _status(client, token, path) == status


async def test_tokens_the_authentication_cache_forgets_expired_tokens_instead_of_keeping_every_token_ever_used(
    database_url, nats_url, monkeypatch
):
    """Each token used stays in the replica's authentication cache for a couple of seconds; without a sweep every
    token ever used would stay in it for good (memory growing with the tokens seen)."""
    monkeypatch.setattr(organisation_app, "AUTH_CACHE_SECONDS", 0.05)
    monkeypatch.setattr(organisation_app, "AUTH_CACHE_SWEEP_AT", 8)
    async with incident_service(database_url, nats_url) as (client, app):
        person, _ = await register(client, "Ada")
        sizes = []
        for _ in range(30):
            _, token = await _issue(client, person)
            assert await _status(client, token) == 200
            sizes.append(len(app.state.application.people._actors))
            await asyncio.sleep(0.06)  # past its time in the cache
        assert max(sizes) <= 16, sizes  # swept at 8, or at twice what was still valid
        _, token = await _issue(client, person)
        assert await _status(client, token) == 200  # a sweep forgets, it refuses nobody

"""S11 in the incident service: Apprise URLs and the process's webhook URLs are stored sealed under
WARROOM_SECRETS_KEYS (the first key seals, every key opens), read in plaintext by admins (and the person),
refused with nothing stored where no key is configured, and a value stored in plaintext before sealing
existed still reads. Over HTTP, in-process on real PostgreSQL and NATS."""

import asyncio
from uuid import uuid4

from cryptography.fernet import Fernet

from services.incident import organisation as org
from shared.sealing import PREFIX
from tests.support import sealing, secrets_scan
from tests.support.incident import ADMIN_TOKEN, PERSON, auth, event_store, eventually, incident_service, register
from tests.support.streams import stream_events

PHONE = "pover://ukey0123456789012345678901234@atoken-s11-phone-secret"
SMS = "twilio://AC0123456789abcdef0123456789abcdef:authtoken-s11-sms@+15551234567/+15557654321"
ROOM = "https://hooks.slack.example.com/services/T000/B000/s11-room-secret"


async def _people_events(nats_url: str, person_id: str) -> list[dict]:
    events = await stream_events(nats_url, "WARROOM_INCIDENT")
    return [e.data for e in events if e.type.startswith("warroom.person.") and e.data.get("id") == person_id]


async def test_s11_without_a_secrets_key_a_secret_is_refused_503_and_nothing_is_stored(database_url, nats_url):
    async with incident_service(database_url, nats_url, secrets_keys="") as (client, app):
        before = (await client.get("/v1/process")).json()
        body = {**PERSON, "apprise_urls": {"phone": PHONE}}
        refused = await client.post("/v1/people", json=body)
        assert refused.status_code == 503 and refused.headers["content-type"] == "application/problem+json"
        assert "WARROOM_SECRETS_KEYS" in refused.json()["detail"]
        process = {**before, "levels": [{**before["levels"][0], "chat_webhook_url": ROOM}, *before["levels"][1:]]}
        refused = await client.put("/v1/process", json=process)
        assert refused.status_code == 503 and "WARROOM_SECRETS_KEYS" in refused.json()["detail"]

        assert (await client.get("/v1/process")).json() == before
        assert (await client.get("/v1/people", params={"q": PERSON["email"]})).json()["people"] == []
        # A person without a secret needs no key.
        assert (await client.post("/v1/people", json={**PERSON, "name": "Pat"})).status_code == 201
        await eventually(lambda: _listed(client, "Pat"))
        assert secrets_scan.in_database(database_url, [PHONE, ROOM]) == []
        assert [e for e in await stream_events(nats_url, "WARROOM_INCIDENT") if PHONE in str(e.data)] == []


async def _listed(client, name: str) -> bool:
    return bool((await client.get("/v1/people", params={"q": name})).json()["people"])


async def test_s11_keys_rotate_the_new_key_first_and_the_old_second_still_open_what_the_old_sealed(
    database_url, nats_url
):
    async with incident_service(database_url, nats_url, secrets_keys=sealing.OLD_KEY) as (client, app):
        ada, token = await register(client, "Ada", apprise_urls={"phone": PHONE})
        process = (await client.get("/v1/process")).json()
        process["levels"][0]["chat_webhook_url"] = ROOM
        assert (await client.put("/v1/process", json=process)).status_code == 200

    async with incident_service(database_url, nats_url, secrets_keys=f"{sealing.KEY},{sealing.OLD_KEY}") as (
        client,
        app,
    ):
        assert (await client.get(f"/v1/people/{ada}")).json()["apprise_urls"] == {"phone": PHONE}
        assert (await client.get("/v1/process")).json()["levels"][0]["chat_webhook_url"] == ROOM
        edited = await client.patch(f"/v1/people/{ada}", json={"apprise_urls": {"sms": SMS}}, headers=auth(token))
        assert edited.json()["apprise_urls"] == {"phone": PHONE, "sms": SMS}  # the person reads their own

        registered, updated = await eventually(lambda: _both(nats_url, ada))
        assert updated["apprise_urls"]["phone"] == registered["apprise_urls"]["phone"]  # left as it was: kept
        old, new = Fernet(sealing.OLD_KEY.encode()), Fernet(sealing.KEY.encode())
        assert old.decrypt(updated["apprise_urls"]["phone"].removeprefix(PREFIX).encode()).decode() == PHONE
        assert new.decrypt(updated["apprise_urls"]["sms"].removeprefix(PREFIX).encode()).decode() == SMS

    async with incident_service(database_url, nats_url, secrets_keys=sealing.KEY) as (client, app):
        # The old key dropped too early: the admin is told, nothing is shown in its place.
        unreadable = await client.get(f"/v1/people/{ada}")
        assert unreadable.status_code == 503 and "WARROOM_SECRETS_KEYS" in unreadable.json()["detail"]
        _, pat = await register(client, "Pat")
        assert (await client.get(f"/v1/people/{ada}", headers=auth(pat))).json()["apprise_urls"] is None
        assert (await client.get("/v1/process", headers=auth(pat))).json()["levels"][0]["chat_webhook_url"] == "***"


async def test_s11_a_person_stored_in_plaintext_before_sealing_still_reads_and_is_sealed_when_edited(
    database_url, nats_url
):
    async with event_store(database_url) as (store, admin):
        person = org.Person(
            id=uuid4(),
            **{**PERSON, "phone": None, "groups": [], "waking_hours": None, "webhook_url": None, "admin": False},
            apprise_urls={"phone": PHONE},
        )
        await asyncio.to_thread(store.save, person)
        ada = str(person.id)

    async with incident_service(database_url, nats_url) as (client, app):
        assert (await client.get(f"/v1/people/{ada}")).json()["apprise_urls"] == {"phone": PHONE}
        edited = await client.patch(f"/v1/people/{ada}", json={"timezone": "Europe/Paris"})
        assert edited.status_code == 200 and edited.json()["apprise_urls"] == {"phone": PHONE}
        registered, updated = await eventually(lambda: _both(nats_url, ada))
        assert registered["apprise_urls"]["phone"] == PHONE  # the legacy event, as it was (never rewritten, R18)
        assert updated["apprise_urls"]["phone"].startswith(PREFIX)
        assert app.state.application.sealer.open(updated["apprise_urls"]["phone"]) == PHONE


async def _both(nats_url: str, person_id: str) -> list[dict] | None:
    """The person's registration and their edit, once both are published."""
    found = await _people_events(nats_url, person_id)
    return found if len(found) == 2 else None


async def test_s11_a_retried_registration_replays_the_apprise_urls_masked(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, app):
        keyed = {"Idempotency-Key": "register-ada", "Authorization": f"Bearer {ADMIN_TOKEN}"}
        body = {**PERSON, "apprise_urls": {"phone": PHONE}}
        first = await client.post("/v1/people", json=body, headers=keyed)
        assert first.status_code == 201 and first.json()["apprise_urls"] == {"phone": PHONE}
        again = await client.post("/v1/people", json=body, headers=keyed)
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.json() | {"apprise_urls": None} == first.json() | {"apprise_urls": None}
        assert again.json()["apprise_urls"] == {"phone": "***"}
        assert secrets_scan.in_database(database_url, [PHONE]) == []

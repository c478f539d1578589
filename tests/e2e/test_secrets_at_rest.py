"""S11 end to end: no secret at rest in plaintext. The four services as processes; a person registered with
an Apprise URL for their phone, a process whose level 1 names a chat room and whose minor reports go to an
issue tracker. Every one of those URLs is delivered to (a local receiver stands for the phone, the room and
the tracker), shown in plaintext to admins and to the person, masked to anyone else — and found nowhere at
rest: not in any table of any service's schema (stored events, read models, deliveries, outboxes, idempotency
records), not in any JetStream message, not in any service's log."""

import uuid

import httpx
import pytest

from shared.sealing import PREFIX, Sealer
from tests.support import sealing, secrets_scan
from tests.support.incident import ADMIN_TOKEN, PERSON, auth, eventually
from tests.support.streams import stream_events
from tests.support.system import SERVICES, environment, running
from tests.support.webhook import WebhookReceiver


@pytest.fixture
async def system(database_url, nats_url, tmp_path):
    async with running(SERVICES, environment(database_url, nats_url), tmp_path) as services:
        yield services


async def test_s11_apprise_urls_and_chat_webhooks_are_delivered_but_never_at_rest_in_plaintext(
    system, database_url, nats_url, tmp_path
):
    phone, room, tracker = (f"{what}-{uuid.uuid4().hex}" for what in ("phone", "room", "tracker"))
    with WebhookReceiver() as receiver:
        phone_url = f"json://127.0.0.1:{receiver.server.server_port}/{phone}"
        room_url, tracker_url = f"{receiver.url}/{room}", f"{receiver.url}/{tracker}"
        incident_url, postmortem_url = system["incident"].url, system["postmortem"].url
        async with httpx.AsyncClient(base_url=incident_url, headers=auth(ADMIN_TOKEN), timeout=15) as admin:
            sam = {**PERSON, "name": "Sam", "email": "sam@example.com", "apprise_urls": {"phone": phone_url}}
            registered = await admin.post("/v1/people", json=sam, headers={"Idempotency-Key": "register-sam"})
            assert registered.status_code == 201, registered.text
            assert registered.json()["apprise_urls"] == {"phone": phone_url}  # the admin who wrote it
            sam_id = registered.json()["id"]
            replayed = await admin.post("/v1/people", json=sam, headers={"Idempotency-Key": "register-sam"})
            assert replayed.json()["apprise_urls"] == {"phone": "***"}  # the answer kept for retries: masked
            pat = (await admin.post("/v1/people", json={**PERSON, "name": "Pat", "email": "pat@example.com"})).json()
            pat_token = (await admin.post("/v1/tokens", json={"person_id": pat["id"]})).json()["token"]
            sam_token = (await admin.post("/v1/tokens", json={"person_id": sam_id})).json()["token"]

            process = (await admin.get("/v1/process")).json()
            process["levels"][0]["chat_webhook_url"] = room_url
            process["issue_tracker_webhook"] = tracker_url
            published = await admin.put("/v1/process", json=process)
            assert published.status_code == 200, published.text
            assert published.json()["levels"][0]["chat_webhook_url"] == room_url
            assert (await admin.put("/v1/directory/aspects/servers", json={"smes": [sam_id]})).status_code == 200
            declared = await admin.post(
                "/v1/incidents", json={"title": "Checkout down", "aspect": "servers"} | {"severity": 1}
            )
            assert declared.status_code == 201, declared.text
            filed = await admin.post("/v1/reports", json={"title": "Disk at 80%", "aspect": "servers"})
            assert filed.status_code == 202, filed.text

            # Delivered: the phone rings (Apprise's JSON target), the room and the tracker are posted to.
            [rung] = await eventually(lambda: receiver.bodies(f"/{phone}"), timeout=30)
            assert rung["title"] == "[Warroom] Checkout down: paged"
            [posted] = await eventually(lambda: receiver.bodies(f"/{room}"), timeout=30)
            assert "Checkout down" in posted["text"]
            [forwarded] = await eventually(lambda: receiver.bodies(f"/{tracker}"), timeout=30)
            assert forwarded["title"] == "Disk at 80%"

            # Read: plaintext for admins and the person, masked for anyone else.
            person = f"/v1/people/{sam_id}"
            assert (await admin.get(person)).json()["apprise_urls"] == {"phone": phone_url}
            assert (await admin.get(person, headers=auth(sam_token))).json()["apprise_urls"] == {"phone": phone_url}
            assert (await admin.get(person, headers=auth(pat_token))).json()["apprise_urls"] is None
            listed = (await admin.get("/v1/people", params={"q": "sam"})).json()["people"]
            assert [p["apprise_urls"] for p in listed] == [{"phone": phone_url}]
            seen = (await admin.get("/v1/process", headers=auth(pat_token))).json()
            assert (seen["levels"][0]["chat_webhook_url"], seen["issue_tracker_webhook"]) == ("***", "***")

        # A back-test by someone not an admin: answered, and no webhook URL in it (once the post-mortem
        # service holds the process version, so its tables are scanned with it).
        async with httpx.AsyncClient(base_url=postmortem_url, headers=auth(pat_token), timeout=15) as postmortem:
            change = {"manager_shift_limit": "PT6H", "handover_warning_after": "PT5H"}

            async def backtested():
                answer = await postmortem.post("/v1/backtests", json={"change": change})
                return answer if answer.status_code == 200 else None

            answer = await eventually(backtested, timeout=30, interval=0.5)
            assert answer.json()["incidents"] and not any(s in answer.text for s in (room, tracker, phone))
            whole = await postmortem.post("/v1/backtests", json={"document": seen})  # the masked document
            assert whole.status_code == 200, whole.text
            assert not any(secret in whole.text for secret in (room, tracker, phone))

    # At rest: the plaintext nowhere — no table of any service, no message of any stream, no log...
    secrets = [phone, room, tracker]
    assert {"incident", "notifier", "timers", "postmortem"} <= {
        t.split(".")[0] for t in secrets_scan.tables_scanned(database_url)
    }
    assert secrets_scan.in_database(database_url, secrets) == []
    found, read = await secrets_scan.in_streams(nats_url, secrets)
    assert read > 10 and found == []
    assert secrets_scan.in_files(tmp_path, secrets) == []
    # ...for the events carry it sealed, opened by the services that hold the key.
    [registration] = [
        e
        for e in await stream_events(nats_url, "WARROOM_INCIDENT")
        if e.type == "warroom.person.registered.v1" and e.data["id"] == sam_id
    ]
    sealed = registration.data["apprise_urls"]["phone"]
    assert sealed.startswith(PREFIX) and Sealer(sealing.KEY).open(sealed) == phone_url

"""Phones end to end: the incident and notifier services as processes; a person registered over HTTP with
an Apprise URL for their phone (Apprise's generic JSON target, json://, pointed at a local receiver) is
paged at any hour on it as well as on their webhook, and the delivery log shows both."""

import httpx
import pytest

from tests.support.incident import ADMIN_TOKEN, PERSON, auth, eventually
from tests.support.processes import incident_and_notifier
from tests.support.webhook import WebhookReceiver


@pytest.fixture
def services(database_url, nats_url, tmp_path):
    with incident_and_notifier(database_url, nats_url, ADMIN_TOKEN, tmp_path) as started:
        yield started


async def test_r11_a_page_at_any_hour_reaches_the_phone_through_apprise(services):
    with WebhookReceiver() as receiver:
        port = receiver.server.server_port
        async with httpx.AsyncClient(base_url=services["incident"].url, headers=auth(ADMIN_TOKEN), timeout=10) as admin:
            sam = {
                **PERSON,
                "name": "Sam",
                "email": "sam@example.com",
                "webhook_url": f"{receiver.url}/sam",
                "apprise_urls": {"phone": f"json://127.0.0.1:{port}/sam-phone"},
            }
            sam_id = (await admin.post("/v1/people", json=sam)).json()["id"]
            assert (await admin.put("/v1/directory/aspects/servers", json={"smes": [sam_id]})).status_code == 200
            body = {"title": "Checkout down", "aspect": "servers", "severity": 1}  # level 1: any hour
            incident = (await admin.post("/v1/incidents", json=body)).json()["id"]

            [rung] = await eventually(lambda: receiver.bodies("/sam-phone"), timeout=20)
            assert rung["title"] == "[Warroom] Checkout down: paged" and rung["version"] == "1.0"
            assert f"Incident: http://127.0.0.1:8080/incidents/{incident}" in rung["message"]
            assert [b["reason"] for b in receiver.bodies("/sam")] == ["paged"]

            async with httpx.AsyncClient(base_url=services["notifier"].url, headers=auth(ADMIN_TOKEN)) as notifier:

                async def logged() -> list[str]:
                    found = (await notifier.get("/v1/deliveries", params={"person": sam_id})).json()["deliveries"]
                    channels = sorted(d["channel"] for d in found if d["state"] == "delivered")
                    return channels if len(channels) == 2 else []

                assert await eventually(logged, timeout=20) == ["phone", "webhook"]

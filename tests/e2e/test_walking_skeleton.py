"""Four services as separate processes over real NATS and PostgreSQL: one incident end to end."""

import httpx
import pytest

from tests.support.incident import ADMIN_TOKEN, PERSON, auth, eventually
from tests.support.processes import ServiceProcess
from tests.support.webhook import WebhookReceiver

SERVICES = ("incident", "notifier", "timers", "postmortem")


@pytest.fixture
def system(database_url, nats_url, tmp_path):
    env = {
        "WARROOM_DATABASE_URL": database_url,
        "WARROOM_NATS_URL": nats_url,
        "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
        "WARROOM_WEBHOOK_ALLOWLIST": "127.0.0.0/8",
        "WARROOM_POLL_INTERVAL": "0.2",
    }
    started = []
    try:
        for name in SERVICES:  # the incident service first: it declares the streams others read
            started.append(ServiceProcess(name, env, tmp_path).start())
        yield {p.name: p for p in started}
    finally:
        for process in reversed(started):
            process.stop()


async def test_r05_declared_incident_pages_the_sme_fires_the_handover_warning_and_fills_the_postmortem(system):
    incident_url = system["incident"].url
    with WebhookReceiver() as receiver:
        async with httpx.AsyncClient(base_url=incident_url, headers=auth(ADMIN_TOKEN), timeout=10) as admin:
            sme = (
                await admin.post(
                    "/v1/people",
                    json={**PERSON, "name": "Sam", "email": "sam@example.com", "webhook_url": f"{receiver.url}/sam"},
                )
            ).json()["id"]
            token = (await admin.post("/v1/tokens", json={"person_id": sme})).json()["token"]
            assert (await admin.put("/v1/directory/aspects/servers", json={"smes": [sme]})).status_code == 200
            process = (await admin.get("/v1/process")).json()
            process.update(handover_warning_after="PT2S", manager_shift_limit="PT4S")
            assert (await admin.put("/v1/process", json=process)).json()["version"] == 2

            declared = await admin.post(
                "/v1/incidents",
                json={"title": "Checkout down", "aspect": "servers", "severity": 1},
                headers=auth(token),
            )
            assert declared.status_code == 201, declared.text
            incident = declared.json()
            assert incident["manager"] == sme and incident["process_version"] == 2

        page = await eventually(lambda: [b for b in receiver.bodies("/sam") if b["reason"] == "paged"], timeout=20)
        assert page[0]["incident_id"] == incident["id"] and page[0]["recipient"] == sme
        assert page[0]["event"]["type"] == "warroom.incident.declared.v1"

        async with httpx.AsyncClient(headers=auth(token), timeout=10) as client:
            timers_url = f"{system['timers'].url}/v1/timers"

            async def warning_fired():
                response = await client.get(timers_url, params={"incident_id": incident["id"]})
                if response.status_code != 200:
                    return None
                return [
                    t for t in response.json()["timers"] if t["kind"] == "handover_warning" and t["state"] == "fired"
                ]

            fired = (await eventually(warning_fired, timeout=20))[0]
            assert fired["person"] == sme and fired["fired_at"] >= fired["due_at"]

            postmortem_url = f"{system['postmortem'].url}/v1/postmortems/{incident['id']}"

            async def timeline_has_both():
                response = await client.get(postmortem_url)
                if response.status_code != 200:
                    return None
                types = [entry["type"] for entry in response.json()["timeline"]]
                ok = "warroom.incident.declared.v1" in types and "warroom.timer.handover_warning.v1" in types
                return response.json() if ok else None

            report = await eventually(timeline_has_both, timeout=20)
            assert any(p["person"] == sme for p in report["participants"])

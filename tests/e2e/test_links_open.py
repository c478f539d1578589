"""Links that open, between real processes configured from the environment as `make run` configures them:
the page reaches the SME's webhook with links to the real services, the acknowledge link acknowledges over
HTTP from its form, and the report link opens the post-mortem without a token."""

import httpx
import pytest

from tests.support.incident import ADMIN_TOKEN, PERSON, auth, eventually
from tests.support.processes import ServiceProcess
from tests.support.webhook import WebhookReceiver

SERVICES = ("incident", "notifier", "postmortem")


@pytest.fixture
def system(database_url, nats_url, tmp_path):
    env = {
        "WARROOM_DATABASE_URL": database_url,
        "WARROOM_NATS_URL": nats_url,
        "WARROOM_ADMIN_TOKEN": ADMIN_TOKEN,
        "WARROOM_WEBHOOK_ALLOWLIST": "127.0.0.0/8",
        "WARROOM_POLL_INTERVAL": "0.2",
        "WARROOM_LINK_SECRETS": "e2e-link-secret-0123456789abcdefghij",
    }
    processes = {name: ServiceProcess(name, env, tmp_path) for name in SERVICES}
    for process in processes.values():  # where people reach them, as an operator would set it
        process.env["WARROOM_PUBLIC_URL"] = processes["incident"].url
        process.env["WARROOM_PUBLIC_POSTMORTEM_URL"] = processes["postmortem"].url
    started = []
    try:
        for name in SERVICES:  # the incident service first: it declares the streams others read
            started.append(processes[name].start())
        yield processes
    finally:
        for process in reversed(started):
            process.stop()


async def test_r11_a_page_from_real_services_is_acknowledged_by_its_link_and_its_report_link_opens(system):
    incident_url, postmortem_url = system["incident"].url, system["postmortem"].url
    with WebhookReceiver() as receiver:
        async with httpx.AsyncClient(base_url=incident_url, headers=auth(ADMIN_TOKEN), timeout=10) as admin:
            body = {**PERSON, "name": "Sam", "email": "sam@example.com", "webhook_url": f"{receiver.url}/sam"}
            sam = (await admin.post("/v1/people", json=body)).json()["id"]
            token = (await admin.post("/v1/tokens", json={"person_id": sam})).json()["token"]
            assert (await admin.put("/v1/directory/aspects/servers", json={"smes": [sam]})).status_code == 200
            declared = await admin.post(
                "/v1/incidents", json={"title": "Router on fire", "aspect": "servers", "severity": 1}
            )
            assert declared.status_code == 201, declared.text
            incident = declared.json()

            pages = await eventually(lambda: [b for b in receiver.bodies("/sam") if b["reason"] == "paged"], timeout=20)
            links = pages[0]["links"]
            assert links["incident"] == f"{incident_url}/incidents/{incident['id']}"
            assert links["acknowledge"].startswith(f"{incident_url}/links/acknowledge/")
            assert links["report"].startswith(f"{postmortem_url}/links/report/")

            async with httpx.AsyncClient(timeout=10) as browser:  # no token: the link is the credential
                shown = await browser.get(links["acknowledge"])
                assert shown.status_code == 200 and "Acknowledge as Sam" in shown.text
                value = links["acknowledge"].rsplit("/", 1)[1]
                done = await browser.post(links["acknowledge"], data={"link": value})
                assert done.status_code == 200 and "Page acknowledged" in done.text

                async def report_opens():
                    response = await browser.get(links["report"])
                    return response if response.status_code == 200 else None

                assert "Router on fire" in (await eventually(report_opens, timeout=20)).text
                fresh = await browser.get(f"{postmortem_url}/v1/postmortems/{incident['id']}/link", headers=auth(token))
                assert fresh.status_code == 200 and (await browser.get(fresh.json()["url"])).status_code == 200

            events = (await admin.get(f"/v1/incidents/{incident['id']}/events")).json()["events"]
            assert [e["data"]["person"] for e in events if e["type"].endswith(".acknowledged.v1")] == [sam]

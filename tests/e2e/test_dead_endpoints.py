"""No noisy neighbour (F14) end to end: the incident and notifier services as separate processes
over real NATS and PostgreSQL, subscribers and people whose endpoints refuse or hang, thousands
of deliveries pending to them — and each new page to a live SME arrives within 2 s."""

import asyncio
import time

import httpx
import pytest

from shared import db
from tests.support.incident import ADMIN_TOKEN, PERSON, auth, eventually
from tests.support.notifier import SECRET, Hanging, backlog, refusing_port
from tests.support.processes import incident_and_notifier
from tests.support.webhook import WebhookReceiver


@pytest.fixture
def system(database_url, nats_url, tmp_path):
    with incident_and_notifier(database_url, nats_url, ADMIN_TOKEN, tmp_path) as started:
        yield started


async def test_f14_each_new_page_arrives_within_two_seconds_behind_thousands_of_deliveries_to_dead_endpoints(
    system, database_url
):
    refused = f"http://127.0.0.1:{await refusing_port()}"
    async with Hanging() as hanging, Hanging() as hung_subscriber:
        with WebhookReceiver() as receiver:
            async with (
                httpx.AsyncClient(base_url=system["incident"].url, headers=auth(ADMIN_TOKEN), timeout=10) as admin,
                httpx.AsyncClient(base_url=system["notifier"].url, headers=auth(ADMIN_TOKEN), timeout=10) as notifier,
            ):

                async def person(name: str, url: str) -> str:
                    response = await admin.post(
                        "/v1/people",
                        json={**PERSON, "name": name, "email": f"{name.lower()}@example.com", "webhook_url": url},
                    )
                    assert response.status_code == 201, response.text
                    return response.json()["id"]

                sam = await person("Sam", f"{receiver.url}/sam")
                for aspect, who in (
                    ("servers", sam),
                    ("database", await person("Dora", f"{refused}/dora")),
                    ("network", await person("Hank", hanging.url("/hank"))),
                ):
                    assert (await admin.put(f"/v1/directory/aspects/{aspect}", json={"smes": [who]})).status_code == 200

                async def subscribe(url: str):
                    response = await notifier.post(
                        "/v1/subscriptions", json={"url": url, "event_types": ["warroom.*"], "secret": SECRET}
                    )
                    return response if response.status_code == 201 else None

                for url in (f"{refused}/events", hung_subscriber.url("/a"), hung_subscriber.url("/b")):
                    await eventually(lambda url=url: subscribe(url), timeout=20)  # once the admin is projected

                # Ordinary incidents that page the dead, copied to the dead subscribers …
                for n in range(30):
                    declared = await admin.post(
                        "/v1/incidents",
                        json={"title": f"Noise {n}", "aspect": ("database", "network")[n % 2], "severity": 1},
                    )
                    assert declared.status_code == 201, declared.text
                # … behind thousands of older retries to the same endpoints.
                pool = await db.create_pool(database_url, "notifier")
                try:
                    await backlog(pool, 2000, recipient="dora", target=f"{refused}/dora")
                    await backlog(pool, 2000, recipient="hank", target=hanging.url("/hank"))
                    await backlog(
                        pool,
                        1000,
                        recipient="issue_tracker",
                        target=hung_subscriber.url("/a"),
                        channel="issue_tracker",
                        reason="minor_report",
                        priority=2,
                    )
                    await pool.execute("SELECT pg_notify('warroom_notifier_queued', '')")
                finally:
                    await pool.close()
                await asyncio.sleep(1)

                waits = []
                for n in range(5):
                    declared = await admin.post(
                        "/v1/incidents", json={"title": f"Checkout down {n}", "aspect": "servers", "severity": 1}
                    )
                    accepted, incident_id = time.monotonic(), declared.json()["id"]
                    while not any(
                        b["incident_id"] == incident_id and b["reason"] == "paged" for b in receiver.bodies("/sam")
                    ):
                        assert time.monotonic() - accepted < 30, f"no page for {incident_id} within 30 s"
                        await asyncio.sleep(0.01)
                    waits.append(time.monotonic() - accepted)
                    await asyncio.sleep(0.3)
                assert max(waits) < 2.0, waits
                assert hanging.connections >= 1 and hung_subscriber.connections >= 1

                endpoints = (await notifier.get("/v1/endpoints")).json()["endpoints"]
                assert {e["endpoint"]: e["state"] for e in endpoints}.get(refused) == "open"

"""Prometheus Alertmanager in, end to end: a real Alertmanager (Debian's) sends its webhook to the incident
service (a process) with a person's token; alerts are posted to Alertmanager's own API, never to Warroom.
The notifier (a process) pages the SME, tells the manager of later and resolved alerts, posts each event
that notifies anyone to level 1's chat room, and forwards the minor reports to the issue tracker (the chat
room, the tracker and the SME's webhook: one local receiver)."""

import asyncio

import httpx
import pytest

from tests.support.alertmanager import Alertmanager, config, firing, post, required, resolved
from tests.support.incident import ADMIN_TOKEN, PERSON, auth, eventually
from tests.support.processes import incident_and_notifier
from tests.support.streams import stream_events
from tests.support.webhook import WebhookReceiver

ROUTES = [
    {"match": {"team": "payments", "severity": "page"}, "aspect": "payments", "severity": 1},
    {"match": {"team": "payments"}, "aspect": "payments", "severity": None},
]


@pytest.fixture
def services(database_url, nats_url, tmp_path):
    with incident_and_notifier(database_url, nats_url, ADMIN_TOKEN, tmp_path) as started:
        yield started


async def _organisation(admin: httpx.AsyncClient, receiver: WebhookReceiver) -> str:
    """Sam is the payments SME (his webhook the receiver's /sam); the issue tracker is its /tracker; the
    integration's token is Ira's, who holds no role. Returns Ira's token."""
    sam = {**PERSON, "name": "Sam", "email": "sam@example.com", "webhook_url": f"{receiver.url}/sam"}
    sam_id = (await admin.post("/v1/people", json=sam)).json()["id"]
    ira = (await admin.post("/v1/people", json={**PERSON, "name": "Ira", "email": "ira@example.com"})).json()["id"]
    token = (await admin.post("/v1/tokens", json={"person_id": ira, "label": "alertmanager"})).json()["token"]
    assert (await admin.put("/v1/directory/aspects/payments", json={"smes": [sam_id]})).status_code == 200
    process = (await admin.get("/v1/process")).json()
    process.update(alert_routes=ROUTES, issue_tracker_webhook=f"{receiver.url}/tracker")
    process["levels"][0]["chat_webhook_url"] = f"{receiver.url}/room"  # level 1's chat room
    assert (await admin.put("/v1/process", json=process)).status_code == 200
    return token


async def test_alertmanager_fires_attaches_resolves_and_files_reports_through_a_real_alertmanager(services, tmp_path):
    hook = f"{services['incident'].url}/v1/integrations/alertmanager"
    with WebhookReceiver() as receiver:
        async with httpx.AsyncClient(base_url=services["incident"].url, headers=auth(ADMIN_TOKEN), timeout=10) as admin:
            token = await _organisation(admin, receiver)
            with Alertmanager(required(), tmp_path / "am", config(hook, token)) as am:
                errors = firing("CheckoutErrors", group="checkout", team="payments", severity="page")
                await post(admin, am, errors)

                def told(reason: str) -> list[dict]:
                    return [b for b in receiver.bodies("/sam") if b["reason"] == reason]

                [page] = await eventually(lambda: told("paged"), timeout=20)
                incident_id = page["incident_id"]
                assert page["title"] == "CheckoutErrors: CheckoutErrors fires" and page["severity"] == 1

                latency = firing("CheckoutLatency", group="checkout", team="payments", severity="page")
                await post(admin, am, errors, latency)  # the same group: attached, never a second incident
                [joined] = await eventually(lambda: told("alerts_attached"), timeout=20)
                assert joined["incident_id"] == incident_id and "CheckoutLatency" in joined["message"]

                room = await eventually(lambda: len(receiver.bodies("/room")) >= 2 and receiver.bodies("/room"))
                declared, attached = room[:2]  # each event that notified someone, once, in order
                assert set(declared) == {"text", "blocks"} and "acknowledge" not in str(declared)
                assert declared["blocks"][0]["text"]["text"] == "CheckoutErrors: CheckoutErrors fires"
                assert "Alertmanager declared it" not in declared["text"]  # the declaration: Ira declared it
                assert "CheckoutLatency" in attached["blocks"][2]["text"]["text"]

                await post(admin, am, resolved(errors), latency)
                [ended] = await eventually(lambda: told("alerts_resolved"), timeout=20)
                assert ended["incident_id"] == incident_id and "CheckoutErrors" in ended["message"]

                await post(admin, am, firing("DiskFull", group="disk", team="storage"))  # no route matches
                await post(admin, am, firing("SlowPage", group="slow", team="payments"))  # its route files a report

                def reports() -> dict[str, dict]:
                    return {b["aspect"]: b for b in receiver.bodies("/tracker")}

                filed = await eventually(lambda: len(reports()) == 2 and reports(), timeout=20)
                assert filed["unrouted"]["alerts"][0]["labels"]["team"] == "storage"
                assert 'team="storage"' in filed["unrouted"]["description"]
                assert filed["payments"]["title"] == "Alert: SlowPage: SlowPage fires"

            events = (await admin.get(f"/v1/incidents/{incident_id}/events")).json()["events"]
            types = [e["type"].removeprefix("warroom.incident.").removesuffix(".v1") for e in events]
            assert types == ["declared", "alerts_attached", "alerts_attached", "alerts_resolved"]
            assert (await admin.get(f"/v1/incidents/{incident_id}")).json()["status"] == "open"  # never resolved
            every = (await admin.get("/v1/events")).json()["events"]
            assert len([e for e in every if e["type"] == "warroom.incident.declared.v1"]) == 1


async def test_a_group_routed_to_a_report_files_one_report_while_it_fires_and_a_new_one_after_it_resolved(
    services, nats_url, tmp_path
):
    hook = f"{services['incident'].url}/v1/integrations/alertmanager"
    with WebhookReceiver() as receiver:
        async with httpx.AsyncClient(base_url=services["incident"].url, headers=auth(ADMIN_TOKEN), timeout=10) as admin:
            token = await _organisation(admin, receiver)
            # Alertmanager sends the group's notification again every 2 s while nothing changes.
            with Alertmanager(required(), tmp_path / "am", config(hook, token, repeat_interval="2s")) as am:

                async def reports() -> list[tuple[str, str, list[str]]]:
                    """(type, report id, alert names) of every report event published, in order."""
                    events = await stream_events(nats_url, "WARROOM_INCIDENT")
                    return [
                        (e.type.split(".")[2], e.data["id"], [a["labels"]["alertname"] for a in e.data["alerts"]])
                        for e in events
                        if e.type.startswith("warroom.report.")
                    ]

                slow_page = firing("SlowPage", group="slow", team="payments")  # its route files a report
                await post(admin, am, slow_page)
                [(_, report, _)] = await eventually(reports, timeout=20)
                slow_query = firing("SlowQuery", group="slow", team="payments")
                await post(admin, am, slow_page, slow_query)  # a new alert in the same group
                await eventually(lambda: _count(reports, 2), timeout=20)
                await asyncio.sleep(5)  # the group's notification repeated meanwhile: nothing more
                assert await reports() == [
                    ("filed", report, ["SlowPage"]),
                    ("alerts_added", report, ["SlowQuery"]),
                ]
                assert [b["title"] for b in receiver.bodies("/tracker")] == ["Alert: SlowPage: SlowPage fires"]

                await post(admin, am, resolved(slow_page), resolved(slow_query))  # the whole group resolved
                await asyncio.sleep(4)
                assert len(await reports()) == 2  # resolutions file nothing
                await post(admin, am, slow_page)  # it fires again: a new report
                third = await eventually(lambda: _count(reports, 3), timeout=20)
                assert third[2][0] == "filed" and third[2][1] != report and third[2][2] == ["SlowPage"]
                tracked = await eventually(lambda: len(receiver.bodies("/tracker")) == 2, timeout=20)
                assert tracked


async def _count(reports, n: int):
    found = await reports()
    return found if len(found) >= n else None

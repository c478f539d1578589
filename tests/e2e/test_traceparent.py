"""A trace follows a command across processes: the traceparent sent with a declaration comes out on the
page the notifier POSTs to the SME's webhook, through the event store, the relay, NATS and the
notifier's consumer, queue and outbox (the incident and notifier services as separate processes); and
each process's /metrics shows what the command went through."""

import httpx
import pytest

from shared import tracing
from tests.support.incident import ADMIN_TOKEN, PERSON, auth, eventually
from tests.support.processes import incident_and_notifier
from tests.support.streams import stream_events
from tests.support.webhook import WebhookReceiver

TRACE = "0af7651916cd43dd8448eb211c80319c"
SENT = f"00-{TRACE}-b7ad6b7169203331-01"


@pytest.fixture
def services(database_url, nats_url, tmp_path):
    with incident_and_notifier(database_url, nats_url, ADMIN_TOKEN, tmp_path) as started:
        yield started


async def test_a_commands_traceparent_reaches_the_webhook_post_the_notifier_makes(services, nats_url):
    with WebhookReceiver() as receiver:
        async with httpx.AsyncClient(base_url=services["incident"].url, headers=auth(ADMIN_TOKEN), timeout=10) as admin:
            person = {**PERSON, "name": "Sam", "email": "sam@example.com", "webhook_url": f"{receiver.url}/sam"}
            sme = (await admin.post("/v1/people", json=person)).json()["id"]
            assert (await admin.put("/v1/directory/aspects/servers", json={"smes": [sme]})).status_code == 200
            declared = await admin.post(
                "/v1/incidents",
                json={"title": "Checkout down", "aspect": "servers", "severity": 1},
                headers={"traceparent": SENT, "X-Request-ID": "declare-1"},
            )
            assert declared.status_code == 201, declared.text
            assert declared.headers["X-Request-ID"] == "declare-1"
            incident = declared.json()["id"]

        def page():
            return [r for r in receiver.received if r["path"] == "/sam" and r["body"]["reason"] == "paged"]

        [posted] = await eventually(page, timeout=20)
        arrived = tracing.parse(posted["headers"].get("traceparent"))
        assert arrived is not None and arrived.trace_id == TRACE and arrived.span_id != SENT.split("-")[2]

        events = await stream_events(nats_url, "WARROOM_INCIDENT")
        [declaration] = [e for e in events if e.type == "warroom.incident.declared.v1" and e.subject == incident]
        assert tracing.parse(declaration.traceparent).trace_id == TRACE

        async def delivered():
            notified = await stream_events(nats_url, "WARROOM_NOTIFIER")
            return [e for e in notified if e.data.get("incident_id") == incident and e.data["reason"] == "paged"]

        [announced] = await eventually(delivered, timeout=10)
        assert tracing.parse(announced.traceparent).trace_id == TRACE

    async with httpx.AsyncClient(timeout=10) as client:
        incident_metrics = (await client.get(f"{services['incident'].url}/metrics")).text
        notifier_metrics = (await client.get(f"{services['notifier'].url}/metrics")).text
    assert 'http_server_request_duration_seconds_count{method="POST",route="/v1/incidents",status="201"} 1.0' in (
        incident_metrics
    )
    assert "warroom_relay_lag_seconds_count" in incident_metrics
    for series in (
        'warroom_consumer_pending_messages{durable="notifier-incident"}',
        'warroom_delivery_duration_seconds_count{channel="webhook"}',
        'warroom_delivery_latency_seconds_count{channel="webhook"}',
        'warroom_outbox_lag_seconds_count{source="warroom/notifier"}',
    ):
        assert series in notifier_metrics, series

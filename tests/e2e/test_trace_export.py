"""OpenTelemetry export (WARROOM_OTLP_ENDPOINT): a declaration made over HTTP to the incident service and
consumed by the notifier, each a process, reaches a real OTLP/HTTP receiver as one trace — the request,
its save, the relay's publication, the notifier's consumer, its delivery and its own publication — each
span the child of the one before it in the chain the traceparent carried from process to process."""

import httpx
import pytest

from shared import tracing
from tests.support.incident import ADMIN_TOKEN, PERSON, auth, eventually
from tests.support.otlp import OtlpReceiver
from tests.support.processes import incident_and_notifier
from tests.support.webhook import WebhookReceiver

TRACE = "5e1f0c8a3b7d49e2a6c4f8b0d2e1a3c5"
CALLER_SPAN = "a1b2c3d4e5f60718"
SENT = f"00-{TRACE}-{CALLER_SPAN}-01"


@pytest.fixture
def collector():
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture
def services(database_url, nats_url, tmp_path, collector):
    # The batch processor sends every 100 ms instead of 5 s, so the test waits less.
    exporting = {"WARROOM_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    with incident_and_notifier(database_url, nats_url, ADMIN_TOKEN, tmp_path, **exporting) as started:
        yield started


async def test_a_declaration_and_its_page_are_exported_as_one_trace_across_both_services(services, collector):
    with WebhookReceiver() as receiver:
        async with httpx.AsyncClient(base_url=services["incident"].url, headers=auth(ADMIN_TOKEN), timeout=10) as admin:
            person = {**PERSON, "name": "Sam", "email": "sam@example.com", "webhook_url": f"{receiver.url}/sam"}
            sme = (await admin.post("/v1/people", json=person)).json()["id"]
            assert (await admin.put("/v1/directory/aspects/servers", json={"smes": [sme]})).status_code == 200
            declared = await admin.post(
                "/v1/incidents",
                json={"title": "Checkout down", "aspect": "servers", "severity": 1},
                headers={"traceparent": SENT},
            )
            assert declared.status_code == 201, declared.text

        def paged():
            return [r for r in receiver.received if r["path"] == "/sam" and r["body"]["reason"] == "paged"]

        [page] = await eventually(paged, timeout=20)

    def exported():
        spans = collector.of_trace(TRACE)
        names = {(span.service, span.kind, span.name.split(" ")[0]) for span in spans}
        wanted = {
            ("warroom-incident", "SERVER", "POST"),
            ("warroom-incident", "INTERNAL", "save"),
            ("warroom-incident", "PRODUCER", "publish"),
            ("warroom-notifier", "CONSUMER", "consume"),
            ("warroom-notifier", "CLIENT", "deliver"),
            ("warroom-notifier", "PRODUCER", "publish"),
        }
        return spans if wanted <= names else None

    try:
        spans = await eventually(exported, timeout=30)
    except AssertionError:
        seen = sorted({(s.service, s.kind, s.name) for s in collector.of_trace(TRACE)})
        raise AssertionError(f"of {len(collector.spans)} spans exported, this trace's: {seen}") from None

    def one(service: str, kind: str, name: str):
        found = [s for s in spans if (s.service, s.kind, s.name) == (service, kind, name)]
        assert len(found) == 1, (service, kind, name, spans)
        return found[0]

    request = one("warroom-incident", "SERVER", "POST /v1/incidents")
    assert request.parent_span_id == CALLER_SPAN  # the caller's span, from the traceparent it sent
    assert (
        request.attributes["http.route"] == "/v1/incidents" and request.attributes["http.response.status_code"] == 201
    )
    save = one("warroom-incident", "INTERNAL", "save")
    assert save.parent_span_id == request.span_id
    published = one("warroom-incident", "PRODUCER", "publish warroom.incident.declared.v1")
    assert published.parent_span_id == save.span_id  # the relay's publication of the event the save stored
    [delivered] = [s for s in spans if s.kind == "CLIENT" and s.name == "deliver"]
    assert delivered.attributes["channel"] == "webhook"
    # The page was queued by the notifier applying the declaration (in its consumer's batch, one hop per event),
    # a child of the save: the CloudEvent's traceparent names it. The consumer's own span for the event is too.
    [applied] = [s for s in spans if s.span_id == delivered.parent_span_id]
    assert (applied.service, applied.parent_span_id) == ("warroom-notifier", save.span_id)
    consumed = [s for s in spans if s.kind == "CONSUMER" and s.attributes.get("durable") == "notifier-incident"]
    assert [(s.service, s.parent_span_id) for s in consumed] == [("warroom-notifier", save.span_id)]
    # The webhook POST's traceparent names the delivery's span: the SME's own tracing joins this trace.
    assert tracing.parse(page["headers"]["traceparent"]) == tracing.TraceContext(TRACE, delivered.span_id)
    announced = one("warroom-notifier", "PRODUCER", "publish warroom.notification.delivered.v1")
    assert announced.parent_span_id == delivered.span_id
    assert not [span.name for span in spans if span.error]

"""Every request's metrics, request id and trace, and the 500 problem (shared/telemetry.py), through the
incident service in-process; the pipeline's metrics (relay, consumers, timers) where they are made."""

import io
import json
import uuid
from contextlib import contextmanager
from datetime import timedelta

import httpx
import structlog
from jsonschema import Draft202012Validator
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from services.timers.scheduler import Scheduler
from shared import logs, tracing
from shared.clock import FakeClock
from tests.integration.test_timers_scheduler import always, declare, fired_events, publish_process
from tests.support.incident import ADMIN_TOKEN, auth, eventually, incident_service, register
from tests.support.notifier import notifier
from tests.support.timers import timers_pool

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples of ``name`` in a /metrics answer: (labels, value)."""
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


@contextmanager
def captured_logs():
    """Every structured log line written meanwhile, parsed."""
    lines = io.StringIO()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=lines))
    parsed: list[dict] = []
    try:
        yield parsed
    finally:
        structlog.configure(logger_factory=structlog.PrintLoggerFactory())
        parsed.extend(json.loads(line) for line in lines.getvalue().splitlines() if line.startswith("{"))


def raising_client(app) -> httpx.AsyncClient:
    """A client that gets the 500 answer instead of the exception the server re-raises after it."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://incident", headers=auth(ADMIN_TOKEN))


async def test_http_metrics_name_the_route_template_with_method_and_status_never_the_path(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        missing = str(uuid.uuid4())
        assert (await client.get(f"/v1/incidents/{missing}")).status_code == 404
        assert (await client.get(f"/no/such/page/{missing}")).status_code == 404
        text = (await client.get("/metrics")).text
    counts = samples(text, "http_server_request_duration_seconds_count")
    assert any(
        labels == {"method": "GET", "route": "/v1/incidents/{incident_id}", "status": "404"} and value >= 1
        for labels, value in counts
    )
    assert any(labels["route"] == "unmatched" and labels["status"] == "404" for labels, _ in counts)
    assert missing not in text
    assert samples(text, "http_server_request_duration_seconds_bucket")


async def test_the_request_id_given_is_answered_and_a_missing_or_odd_one_is_made(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _):
        given = await client.get("/v1/process", headers={"X-Request-ID": "req-42.a:b"})
        made = await client.get("/v1/process")
        odd = await client.get("/v1/process", headers={"X-Request-ID": "no spaces or\tcontrols"})
        refused = await client.get("/v1/process", headers={"Authorization": "Bearer wrong", "X-Request-ID": "r-401"})
    assert given.headers["X-Request-ID"] == "req-42.a:b"
    assert len(made.headers["X-Request-ID"]) == 32 and made.headers["X-Request-ID"] != odd.headers["X-Request-ID"]
    assert odd.headers["X-Request-ID"] != "no spaces or\tcontrols"
    assert refused.status_code == 401 and refused.headers["X-Request-ID"] == "r-401"  # answered before the route


async def test_every_log_line_of_a_request_names_its_request_id_and_trace(database_url, nats_url):
    said = logs.get("test_telemetry")

    async def chatty() -> dict[str, str]:
        said.info("first_thing")
        said.warning("second_thing", detail="more")
        return {"ok": "yes"}

    async with incident_service(database_url, nats_url) as (client, app):
        app.add_api_route("/v1/test-chatty", chatty)
        with captured_logs() as lines:
            answer = await client.get(
                "/v1/test-chatty", headers={"X-Request-ID": "chatty-1", "traceparent": TRACEPARENT}
            )
            await client.get("/v1/test-chatty", headers={"X-Request-ID": "chatty-2"})
    assert answer.status_code == 200
    first = [line for line in lines if line.get("request_id") == "chatty-1"]
    assert [line["event"] for line in first] == ["first_thing", "second_thing"]
    assert all(line["trace_id"] == TRACE and line["service"] == "incident" for line in first)
    assert len([line for line in lines if line.get("request_id") == "chatty-2"]) == 2
    assert not [line for line in lines if line["event"] in ("first_thing", "second_thing") and "request_id" not in line]


async def test_an_unhandled_error_is_logged_and_answers_the_documented_500_saying_nothing_of_it(database_url, nats_url):
    async def broken() -> None:
        raise RuntimeError("the database password is hunter2")

    async with incident_service(database_url, nats_url) as (client, app):
        app.add_api_route("/v1/test-broken", broken)
        async with raising_client(app) as raw:
            with captured_logs() as lines:
                answer = await raw.get("/v1/test-broken", headers={"X-Request-ID": "broken-1"})
        text = (await client.get("/metrics")).text
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["X-Request-ID"] == "broken-1"
    body = answer.json()
    assert body["status"] == 500 and body["title"] == "Internal server error" and body["type"] == "about:blank"
    assert "broken-1" in body["detail"] and body["instance"] == "/v1/test-broken"
    assert "hunter2" not in answer.text and "RuntimeError" not in answer.text
    # The answer is the one every operation's document describes (shared/openapi.py's 500).
    components = app.openapi()["components"]
    problem = Draft202012Validator({"$ref": "#/components/schemas/ProblemDetails", "components": components})
    assert not [error.message for error in problem.iter_errors(body)]
    [logged] = [line for line in lines if line["event"] == "request_failed"]
    assert logged["request_id"] == "broken-1" and logged["level"] == "error" and logged["route"] == "/v1/test-broken"
    assert "RuntimeError: the database password is hunter2" in logged["exception"]
    assert any(
        labels == {"method": "GET", "route": "/v1/test-broken", "status": "500"}
        for labels, _ in samples(text, "http_server_request_duration_seconds_count")
    )


async def test_relay_lag_and_the_consumers_pending_messages_and_redeliveries_appear_in_metrics(database_url, nats_url):
    async with incident_service(database_url, nats_url) as (client, _), notifier(database_url, nats_url):
        sme, token = await register(client, "Sam")
        assert (await client.put("/v1/directory/aspects/servers", json={"smes": [sme]})).status_code == 200
        declared = await client.post(
            "/v1/incidents", json={"title": "Down", "aspect": "servers", "severity": 1}, headers=auth(token)
        )
        assert declared.status_code == 201

        async def consumed() -> str | None:
            # The relay (a process of its own, which reports to this one) and the consumer each at their pace.
            text = (await client.get("/metrics")).text
            pending = samples(text, "warroom_consumer_pending_messages")
            relayed = sum(count for _, count in samples(text, "warroom_relay_lag_seconds_count"))
            consuming = {"durable": "notifier-incident"} in [labels for labels, _ in pending]
            return text if consuming and relayed >= 4 else None  # the person, token, directory, declaration

        text = await eventually(consumed, timeout=30)

        async def lists_counted() -> str | None:
            # The incident list's consumer runs in the relay's process, which forwards its figures every second.
            text = (await client.get("/metrics")).text
            applied = dict(
                (labels["consumer"], value) for labels, value in samples(text, "warroom_events_applied_total")
            )
            return text if applied.get("incident-list", 0) >= 4 else None

        lists_text = await eventually(lists_counted, timeout=30)
    assert {"durable": "incident-list"} in [
        labels for labels, _ in samples(lists_text, "warroom_consumer_pending_messages")
    ]
    [(_, lag_count)] = samples(text, "warroom_relay_lag_seconds_count")
    assert lag_count >= 4
    assert samples(text, "warroom_relay_lag_seconds_bucket")
    assert "# TYPE warroom_consumer_redeliveries_total counter" in text


async def test_a_timers_lateness_is_measured_and_its_event_starts_a_trace_of_its_own(database_url):
    clock = FakeClock()
    start = clock.now()
    async with timers_pool(database_url) as pool:
        events = await publish_process(pool, clock, start)
        await declare(pool, clock, events, "inc-1", start)
        before = _lateness("handover_warning")
        clock.advance(timedelta(seconds=2.5))  # the handover warning was due at 2 s
        await Scheduler(pool, clock, caught_up=always).tick()
        [fired] = [e for e in await fired_events(pool) if e["type"] == "warroom.timer.handover_warning.v1"]
    count, total = _lateness("handover_warning")
    assert count == before[0] + 1 and abs(total - before[1] - 0.5) < 1e-6
    assert tracing.parse(fired["traceparent"]) is not None


def _lateness(kind: str) -> tuple[float, float]:
    labels = {"kind": kind}
    count = REGISTRY.get_sample_value("warroom_timer_lateness_seconds_count", labels) or 0.0
    return count, REGISTRY.get_sample_value("warroom_timer_lateness_seconds_sum", labels) or 0.0


async def test_a_commands_time_is_measured_waiting_for_a_thread_in_it_and_saving(database_url, nats_url):
    names = (
        "warroom_command_thread_wait_seconds_count",
        "warroom_command_thread_seconds_count",
        "warroom_event_store_save_seconds_count",
    )

    def counts(text: str) -> list[float]:
        return [sum(value for _, value in samples(text, name)) for name in names]

    async with incident_service(database_url, nats_url) as (client, _):
        before = counts((await client.get("/metrics")).text)
        await register(client, "Ines")  # a person and a token: commands run in a thread, each saved
        after = counts((await client.get("/metrics")).text)
    waited, in_thread, saved = (a - b for a, b in zip(after, before, strict=True))
    assert waited >= 2 and in_thread >= 2 and saved >= 2, (before, after)

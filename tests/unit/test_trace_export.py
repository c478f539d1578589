"""OpenTelemetry export (shared/trace_export.py): nothing without WARROOM_OTLP_ENDPOINT; with it, each span
of shared.tracing handed to the SDK with the very ids the traceparents carry, its kind and its outcome."""

import time

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from shared import trace_export, tracing
from shared.settings import Settings

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
HEADER = f"00-{TRACE}-00f067aa0ba902b7-01"


@pytest.fixture
def exported():
    memory = InMemorySpanExporter()
    sink = trace_export.converter(SimpleSpanProcessor(memory), Resource.create({"service.name": "warroom-test"}))
    tracing.add_sink(sink)
    try:
        yield memory
    finally:
        tracing.remove_sink(sink)


def test_without_an_endpoint_nothing_is_exported_and_no_span_is_recorded():
    assert trace_export.start(Settings(otlp_endpoint=""), "incident") is None
    assert not tracing.recording()


def test_the_endpoint_is_a_collectors_base_url_and_traces_go_to_its_v1_traces():
    assert trace_export.traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert trace_export.traces_url("http://collector:4318/v1/traces") == "http://collector:4318/v1/traces"


def test_an_exported_span_keeps_the_trace_and_span_ids_its_traceparent_names(exported):
    with tracing.hop(HEADER, "consume", durable="notifier-incident") as context:
        pass
    [span] = exported.get_finished_spans()
    assert format(span.context.trace_id, "032x") == TRACE and format(span.context.span_id, "016x") == context.span_id
    assert span.parent is not None and format(span.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert span.kind == SpanKind.CONSUMER and span.attributes == {"durable": "notifier-incident"}
    assert span.resource.attributes["service.name"] == "warroom-test"
    assert span.status.status_code == StatusCode.UNSET


def test_a_failed_hop_and_a_500_answer_are_exported_as_errors(exported):
    with pytest.raises(RuntimeError), tracing.hop(HEADER, "deliver"):
        raise RuntimeError
    begun = tracing.begin(HEADER)
    tracing.end(begun, "GET /v1/incidents", {"http.response.status_code": 500}, kind="http")
    failed, answered = exported.get_finished_spans()
    assert (failed.kind, failed.status.status_code) == (SpanKind.CLIENT, StatusCode.ERROR)
    assert (answered.kind, answered.status.status_code) == (SpanKind.SERVER, StatusCode.ERROR)


def test_a_span_of_a_trace_its_caller_did_not_sample_is_not_exported(exported):
    with tracing.hop(f"00-{TRACE}-00f067aa0ba902b7-00", "consume"):
        pass
    assert exported.get_finished_spans() == ()


async def test_stopping_with_the_collector_away_is_bounded_and_stops_recording():
    # Nothing listens on port 9 (discard) of this host: each export attempt fails, the exporter retries.
    exporting = trace_export.start(Settings(otlp_endpoint="http://127.0.0.1:9"), "test")
    assert exporting is not None and tracing.recording()
    with tracing.hop(HEADER, "consume"):
        pass
    started = time.monotonic()
    await trace_export.stop(exporting, within=0.5)
    assert time.monotonic() - started < 2 and not tracing.recording()

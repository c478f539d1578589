"""OpenTelemetry export of the spans ``shared.tracing`` makes, over OTLP/HTTP, when ``WARROOM_OTLP_ENDPOINT`` is set.

``shared.tracing`` keeps its own W3C ids (they travel in the events, the deliveries and the webhook POSTs), so
the OpenTelemetry SDK does not make the spans here: each finished span becomes the SDK's ``ReadableSpan``
with the same trace id, span id and parent, and goes to its ``BatchSpanProcessor`` and
``OTLPSpanExporter`` (a background thread sends batches; a full queue drops spans rather than wait). A
span whose trace is not sampled (``traceparent`` flags ``00``) is not exported.

Unset, nothing is imported, no sink is registered and no span is recorded (``tracing.recording``). The
exporter's other settings are OpenTelemetry's own environment variables (``OTEL_EXPORTER_OTLP_HEADERS``,
``OTEL_EXPORTER_OTLP_TIMEOUT``, ``OTEL_RESOURCE_ATTRIBUTES``…).
"""

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from shared import logs, tracing
from shared.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

log = logs.get(__name__)

TRACES_PATH = "/v1/traces"
SCOPE = "warroom"
FLUSH_SECONDS = 2.0
# What a hop is to OpenTelemetry, by the name shared.tracing gives it (anything else is internal).
_KINDS = {"http": "SERVER", "consume": "CONSUMER", "replay": "CONSUMER", "publish": "PRODUCER", "deliver": "CLIENT"}


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector's base URL (``http://collector:4318``), as OpenTelemetry's
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` is read; a URL naming ``/v1/traces`` already is kept."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


class Exporting:
    """Every finished span of this process sent to the collector, until ``stop``."""

    def __init__(self, processor: "SpanProcessor", sink: tracing.Sink):
        self.processor, self.sink = processor, sink

    def stop(self) -> None:
        """No more spans recorded; those queued are sent (within the exporter's timeout: it blocks)."""
        tracing.remove_sink(self.sink)
        self.processor.shutdown()


async def stop(exporting: Exporting | None, within: float = FLUSH_SECONDS) -> None:
    """At a service's shutdown: the spans still queued sent, off the event loop, for ``within`` seconds at
    most — a collector away (the exporter retries for its own timeout, 10 s) must not hold up a service that
    stops within 5 s of SIGTERM. The flush goes on in a daemon thread, which does not hold up the exit."""
    if exporting is None:
        return
    flushing = threading.Thread(target=exporting.stop, name="trace-export-stop", daemon=True)
    flushing.start()
    await asyncio.to_thread(flushing.join, within)


def start(settings: Settings, service: str) -> Exporting | None:
    """Export this process's spans to ``settings.otlp_endpoint`` as ``warroom-<service>``; None when unset."""
    if not settings.otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(settings.otlp_endpoint)))
    sink = converter(processor, Resource.create({"service.name": f"warroom-{service}", "service.namespace": "warroom"}))
    tracing.add_sink(sink)
    log.info("exporting_traces", endpoint=traces_url(settings.otlp_endpoint))
    return Exporting(processor, sink)


def converter(processor: "SpanProcessor", resource: Any) -> tracing.Sink:
    """The sink handing each finished span to ``processor`` as OpenTelemetry's span, of ``resource``."""
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    scope = InstrumentationScope(SCOPE)

    def context_of(context: tracing.TraceContext, remote: bool) -> SpanContext:
        flags = TraceFlags(int(context.flags, 16))
        return SpanContext(int(context.trace_id, 16), int(context.span_id, 16), is_remote=remote, trace_flags=flags)

    def sink(span: tracing.FinishedSpan) -> None:
        attributes = {name: value for name, value in span.attributes.items() if value is not None}
        failed = tracing.ERROR in attributes or int(attributes.get("http.response.status_code", 0)) >= 500
        processor.on_end(
            ReadableSpan(
                span.name,
                context=context_of(span.context, remote=False),
                parent=None if span.parent is None else context_of(span.parent, remote=True),
                resource=resource,
                attributes=attributes,
                kind=SpanKind[_KINDS.get(span.kind or span.name, "INTERNAL")],
                status=Status(StatusCode.ERROR) if failed else Status(StatusCode.UNSET),
                start_time=span.start_ns,
                end_time=span.end_ns,
                instrumentation_scope=scope,
            )
        )

    return sink

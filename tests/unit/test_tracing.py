"""W3C Trace Context (shared/tracing.py): what a traceparent may be, and how a hop continues a trace."""

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, UUIDAsHex

from services.incident.traced_events import TRACE_KEY, TracedMapper
from shared import tracing
from shared.contract import Envelope

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
HEADER = f"00-{TRACE}-{PARENT}-01"


def test_a_well_formed_traceparent_names_its_trace_parent_and_flags():
    context = tracing.parse(HEADER)
    assert context == tracing.TraceContext(TRACE, PARENT, "01")
    assert context.header() == HEADER


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"00-{TRACE.upper()}-{PARENT}-01",  # hex digits are lowercase
        f"00-{'0' * 32}-{PARENT}-01",  # an all-zero trace id is invalid
        f"00-{TRACE}-{'0' * 16}-01",  # an all-zero parent id too
        f"ff-{TRACE}-{PARENT}-01",  # version ff is forbidden
        f"00-{TRACE}-{PARENT}-01-extra",  # version 00 has exactly four fields
        f"00-{TRACE[:-1]}-{PARENT}-01",
        f"00-{TRACE}-{PARENT}-1",
        "x" * 600,
    ],
)
def test_a_malformed_traceparent_is_ignored(header):
    assert tracing.parse(header) is None


def test_a_later_version_is_read_for_its_first_four_fields():
    assert tracing.parse(f"01-{TRACE}-{PARENT}-00-what-comes-next") == tracing.TraceContext(TRACE, PARENT, "00")


def test_a_hop_continues_its_parents_trace_with_a_span_of_its_own_current_only_inside():
    assert tracing.current() is None
    with tracing.hop(HEADER, "test") as context:
        assert context.trace_id == TRACE and context.span_id != PARENT
        assert tracing.current_header() == context.header()
        with tracing.within("inner") as inner:
            assert inner.trace_id == TRACE and inner.span_id != context.span_id
        assert tracing.current() == context
    assert tracing.current() is None and tracing.current_header() is None


def test_a_hop_without_a_valid_parent_starts_a_new_sampled_trace():
    with tracing.hop("not a traceparent", "test") as first, tracing.hop(None, "test") as second:
        assert tracing.parse(first.header()) == first and first.flags == tracing.SAMPLED
        assert first.trace_id != second.trace_id


def test_every_finished_hop_reaches_a_sink_and_none_is_recorded_without_one():
    finished: list[tracing.FinishedSpan] = []
    tracing.add_sink(finished.append)
    try:
        with tracing.hop(HEADER, "consume", durable="d") as context:
            pass
    finally:
        tracing.remove_sink(finished.append)
    assert not tracing.recording()
    [span] = finished
    assert span.name == "consume" and span.context == context and span.parent == tracing.parse(HEADER)
    assert span.attributes == {"durable": "d"} and 0 < span.start_ns <= span.end_ns


def test_the_envelope_carries_traceparent_as_an_extension_only_when_it_has_one():
    fields = {"id": "e", "source": "s", "type": "t", "subject": "x", "time": "2026-03-01T09:00:00Z", "data": {}}
    plain = Envelope(**fields, sequence=1, position=1)
    traced = Envelope(**fields, sequence=1, position=1, traceparent=HEADER)
    assert plain.traceparent is None and "traceparent" not in plain.model_dump_json()
    assert Envelope.from_bytes(traced.to_bytes()).traceparent == HEADER
    assert "traceparent" not in Envelope.model_json_schema()["properties"]


def test_a_stored_incident_event_keeps_its_trace_beside_its_state_not_in_the_domain_event():
    class Thing(Aggregate):
        @event("Named")
        def name(self, name: str) -> None:
            self.named = name

    thing = Thing()
    thing.name("x")
    named = thing.collect_events()[-1]
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    mapper = TracedMapper(transcoder=transcoder)
    with tracing.hop(HEADER, "test") as context:
        stored = mapper.to_stored_event(named)
    assert TRACE_KEY not in vars(named)
    read, traceparent = mapper.traced(stored)
    assert traceparent == context.header() and TRACE_KEY not in vars(read) and vars(read) == vars(named)
    assert TRACE_KEY not in vars(mapper.to_domain_event(stored))
    assert mapper.traced(mapper.to_stored_event(named)) == (mapper.to_domain_event(stored), None)


def test_a_step_is_a_span_of_its_own_under_the_current_hop_only_while_spans_are_recorded():
    with tracing.hop(HEADER, "http") as request:
        with tracing.step("save") as nothing:
            assert nothing is None and tracing.current() == request  # no sink: nothing made, nothing changed
    finished: list[tracing.FinishedSpan] = []
    tracing.add_sink(finished.append)
    try:
        with tracing.hop(HEADER, "http") as request, tracing.step("save", aggregates=2):
            saving = tracing.current()
    finally:
        tracing.remove_sink(finished.append)
    save, _ = finished
    assert saving is not None and saving != request and saving.trace_id == TRACE
    assert (save.name, save.context, save.parent, save.attributes) == ("save", saving, request, {"aggregates": 2})


def test_a_started_span_is_never_current_and_finishes_where_its_work_ends():
    assert tracing.started(HEADER, "publish t", "publish") is None  # no sink: not even made
    finished: list[tracing.FinishedSpan] = []
    tracing.add_sink(finished.append)
    try:
        span = tracing.started(HEADER, "publish t", "publish", subject="t")
        assert span is not None and tracing.current() is None
        span.finish(acknowledged=True)
    finally:
        tracing.remove_sink(finished.append)
    [done] = finished
    assert (done.name, done.kind, done.parent) == ("publish t", "publish", tracing.parse(HEADER))
    assert done.context.trace_id == TRACE and done.attributes == {"subject": "t", "acknowledged": True}


def test_a_hop_ended_by_an_exception_names_it_on_its_span():
    finished: list[tracing.FinishedSpan] = []
    tracing.add_sink(finished.append)
    try:
        with pytest.raises(KeyError), tracing.hop(HEADER, "consume", durable="d"):
            raise KeyError("x")
    finally:
        tracing.remove_sink(finished.append)
    [span] = finished
    assert span.attributes == {"durable": "d", tracing.ERROR: "KeyError"}

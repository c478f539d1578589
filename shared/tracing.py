"""W3C Trace Context: one trace follows a command from its request through the relay, the consumers and
the outboxes to the notifier's webhook POST.

A ``traceparent`` (``00-<trace id>-<parent id>-<flags>``) arrives on a request, or a new trace starts
there. Each hop — the request, a consumer applying an event, a timer firing — is a span of its own: a
child context with the same trace id and a new parent id, current (a context variable) while the hop
runs. What the hop produces carries the current header: a stored incident event (and so its published
CloudEvent's ``traceparent`` extension attribute), an outbox event, a queued delivery, and from there
the webhook POST's ``traceparent`` header.

A header that breaks the specification is not an error of the request: as the specification asks,
the trace restarts here (a new trace id).

Spans are exported through sinks: ``add_sink`` registers a callable that receives every finished span
(``FinishedSpan``: ids, name, kind, start and end, attributes); ``shared/trace_export.py`` registers the
OpenTelemetry exporter's when ``WARROOM_OTLP_ENDPOINT`` is set. Nothing is recorded while no sink is
registered, and the spans that exist only to be exported (a command's save, a publication: ``step``,
``started``) are not even made.
"""

import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# Version 00 exactly; a later version may append fields after a dash, which this reader ignores.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_INVALID_VERSION = "ff"
SAMPLED = "01"


class TraceContext(NamedTuple):  # a tuple: made on every request and every event, it must be cheap
    trace_id: str  # 32 lowercase hex digits, not all zero
    span_id: str  # 16 lowercase hex digits, not all zero: the parent id of whatever this hop calls
    flags: str = SAMPLED

    def header(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def child(self) -> "TraceContext":
        """The next hop's context: the same trace, a span of its own."""
        return TraceContext(self.trace_id, _hex(64), self.flags)


def parse(value: str | None) -> TraceContext | None:
    """The context a ``traceparent`` header names, or None when absent or malformed."""
    if not value or len(value) > 512:
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == _INVALID_VERSION or (version == "00" and rest is not None):
        return None
    if trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return TraceContext(trace_id, span_id, flags)


def new() -> TraceContext:
    """A new trace (sampled: its ids are in the logs and, with a sink, exported)."""
    return TraceContext(_hex(128), _hex(64))


def _hex(bits: int) -> str:
    # Not secret, only unique: the Mersenne Twister is fast, and a zero id (never valid) is replaced.
    return format(random.getrandbits(bits) or 1, f"0{bits // 4}x")


_current: ContextVar[TraceContext | None] = ContextVar("warroom_trace_context", default=None)


def current() -> TraceContext | None:
    return _current.get()


def current_header() -> str | None:
    """The ``traceparent`` that what this hop produces carries, or None outside any hop."""
    context = _current.get()
    return None if context is None else context.header()


class Hop(NamedTuple):
    """A hop begun by ``begin``: its context, its parent and what ``end`` needs."""

    context: TraceContext
    parent: TraceContext | None
    token: Token[TraceContext | None]
    started_ns: int


def begin(parent: TraceContext | str | None) -> Hop:
    """Make a child span of ``parent`` (a context or a header), or of a new trace when there is none or
    it is malformed, the current one; ``end`` it in a ``finally``. ``hop`` is the same as a context
    manager; this pair is for the one place where its few microseconds count (every request)."""
    given = parse(parent) if isinstance(parent, str) or parent is None else parent
    context = given.child() if given is not None else new()
    return Hop(context, given, _current.set(context), time.time_ns() if _sinks else 0)


def end(hop: Hop, name: str = "", attributes: dict[str, Any] | None = None, kind: str = "") -> None:
    """Restore the context ``begin`` found, and report the span to the sinks, if any (``name`` and
    ``attributes`` matter only then: ``recording`` says whether to make them)."""
    _current.reset(hop.token)
    if _sinks and hop.started_ns:
        finish(FinishedSpan(name, hop.context, hop.parent, hop.started_ns, time.time_ns(), attributes or {}, kind))


# The attribute naming the exception that ended a hop (OpenTelemetry's name): its span is an error.
ERROR = "exception.type"


@contextmanager
def hop(parent: TraceContext | str | None, name: str, **attributes: Any) -> Iterator[TraceContext]:
    """Run a hop as a child span of ``parent`` (``begin``): its span is current inside, and reported to
    the sinks when it ends."""
    begun = begin(parent)
    try:
        yield begun.context
    except Exception as exc:
        attributes[ERROR] = type(exc).__qualname__
        raise
    finally:
        end(begun, name, attributes)


@contextmanager
def step(name: str, **attributes: Any) -> Iterator[None]:
    """A span of its own for a step of the current hop (a command's save), current inside so that what the
    step stores names it — only while spans are exported: otherwise nothing is made and nothing changes."""
    if not _sinks:
        yield
        return
    with hop(_current.get(), name, **attributes):
        yield


class Started(NamedTuple):
    """A span begun by ``started``, never current: ``finish`` it where the work ends (a callback)."""

    name: str
    context: TraceContext
    parent: TraceContext | None
    started_ns: int
    attributes: dict[str, Any]
    kind: str

    def finish(self, **attributes: Any) -> None:
        done = {**self.attributes, **attributes}
        finish(FinishedSpan(self.name, self.context, self.parent, self.started_ns, time.time_ns(), done, self.kind))


def started(parent: TraceContext | str | None, name: str, kind: str, **attributes: Any) -> Started | None:
    """A span for work that ends elsewhere (a publication, at its acknowledgement), a child of ``parent``
    (a new trace without one); None while no sink records, so the caller does nothing more."""
    if not _sinks:
        return None
    given = parse(parent) if isinstance(parent, str) or parent is None else parent
    context = given.child() if given is not None else new()
    return Started(name, context, given, time.time_ns(), attributes, kind)


@contextmanager
def within(name: str, **attributes: Any) -> Iterator[TraceContext]:
    """A hop under the current span if there is one, else at the start of a new trace."""
    with hop(_current.get(), name, **attributes) as context:
        yield context


# --- the export seam ---


@dataclass(frozen=True, slots=True)
class FinishedSpan:
    name: str
    context: TraceContext
    parent: TraceContext | None  # None: the span started its trace
    start_ns: int  # Unix time in nanoseconds
    end_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)
    kind: str = ""  # what sort of hop ("http", "consume", "publish", "save"…); empty: its name says it


Sink = Callable[[FinishedSpan], None]
_sinks: list[Sink] = []


def add_sink(sink: Sink) -> None:
    """Have every finished span passed to ``sink`` (an exporter's adapter); none are recorded without one."""
    _sinks.append(sink)


def remove_sink(sink: Sink) -> None:
    _sinks.remove(sink)


def recording() -> bool:
    return bool(_sinks)


def finish(span: FinishedSpan) -> None:
    for sink in list(_sinks):
        sink(span)

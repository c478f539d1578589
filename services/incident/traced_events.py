"""The trace context a stored event was made in: kept in its stored state, never in the domain event.

A command runs inside a hop of a trace (the request's, or a consumer's: ``shared.tracing``). The mapper
adds that hop's ``traceparent`` to the state of every event it stores, and takes it out again when it
reads one, so aggregates, upcasters' callers and every reader of the store see the events as before;
only the relay asks for it (``traced``), to carry it in the published CloudEvent. Events stored before
this existed, or outside any hop, have none.
"""

from typing import Any
from uuid import UUID

from eventsourcing.domain import CanSnapshotAggregate
from eventsourcing.persistence import Mapper, StoredEvent

from shared import tracing

# Beside the event's own fields in its stored JSON; no field of a domain event starts with "_".
TRACE_KEY = "_traceparent"


class TracedMapper(Mapper[UUID]):
    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        traceparent = tracing.current_header()
        if traceparent is None or isinstance(domain_event, CanSnapshotAggregate):
            return super().to_stored_event(domain_event)
        # A copy with one more attribute, so the library's encoding (class versions, compression) applies.
        traced = object.__new__(type(domain_event))
        object.__setattr__(traced, "__dict__", {**vars(domain_event), TRACE_KEY: traceparent})
        return super().to_stored_event(traced)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return self.traced(stored_event)[0]

    def traced(self, stored_event: StoredEvent) -> tuple[Any, str | None]:
        """The domain event and the ``traceparent`` it was stored with (None: none was)."""
        event = super().to_domain_event(stored_event)
        return event, vars(event).pop(TRACE_KEY, None)


def traced(mapper: Mapper[Any], stored_event: StoredEvent) -> tuple[Any, str | None]:
    """The event and its ``traceparent`` through ``mapper``; one that keeps none gives None."""
    if isinstance(mapper, TracedMapper):
        return mapper.traced(stored_event)
    return mapper.to_domain_event(stored_event), None

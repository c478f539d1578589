"""Each incident event's ``chainhash`` (chain.py), made when it is stored and kept in its stored state.

Like the trace context (traced_events.py), the hash sits beside the event's own fields in its stored JSON,
never in the domain event: the mapper takes it out again on reading, and only the readers that publish
(the relay, the history) ask for it (``annotated``). It is computed in the save itself, before the one
insert that stores the events (recorder.py), from the event as it will be read back (encoded, then decoded:
exactly what the relay will publish) and the previous event's hash: from the same save, from the last
save of this replica (``Heads``), or from the store. A hash made from a stale predecessor cannot be stored:
the store refuses a second event at the same version (the version check every save passes), and the
command runs again (incidents.py). Several incidents' events in one save, each chained on its own, are
fine, and so are several saves in one transaction (the group commit, recorder.py): each save's hashes are
made from its own predecessors, a save refused in the group stores none of them and moves no head, and
one replica never has two saves of one incident in the same group (turns.py).
"""

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import EventStore, Mapper, Notification, Recording, StoredEvent

from services.incident import chain, translate
from services.incident.traced_events import TRACE_KEY, TracedMapper
from shared import tracing
from shared.contract import Envelope

# Beside the event's own fields in its stored JSON, as the trace context is.
CHAIN_KEY = "_chainhash"
INCIDENT_TYPES = "warroom.incident."
# Incidents whose last chainhash this replica remembers (as many as the aggregate cache keeps).
HEADS_KEPT = 5000


def is_chained(event: Any) -> bool:
    """An incident's event: every one is published as ``warroom.incident.*``, each in its incident's chain."""
    published = translate.TYPES.get(type(event))
    return published is not None and published[0].startswith(INCIDENT_TYPES)


def chained_classes() -> list[type]:
    """The stored event classes of the incidents' events (``is_chained``)."""
    return [cls for cls, (published, _) in translate.TYPES.items() if published.startswith(INCIDENT_TYPES)]


class ChainedMapper(TracedMapper):
    """The trace context's mapper, which also keeps (and takes out) an event's ``chainhash``."""

    def traced(self, stored_event: StoredEvent) -> tuple[Any, str | None]:
        event, traceparent, _ = self.annotated(stored_event)
        return event, traceparent

    def annotated(self, stored_event: StoredEvent) -> tuple[Any, str | None, str | None]:
        """The domain event, and the ``traceparent`` and ``chainhash`` stored with it (None: none was)."""
        event, traceparent = super().traced(stored_event)
        return event, traceparent, vars(event).pop(CHAIN_KEY, None)

    def stored_with(self, event: Any, traceparent: str | None, chainhash: str) -> StoredEvent:
        """``event`` stored with this trace context and chain hash beside its fields."""
        extra = {TRACE_KEY: traceparent, CHAIN_KEY: chainhash} if traceparent else {CHAIN_KEY: chainhash}
        annotated = object.__new__(type(event))
        object.__setattr__(annotated, "__dict__", {**vars(event), **extra})
        return Mapper.to_stored_event(self, annotated)  # the library's encoding, without adding a trace again


def annotated(mapper: Mapper[Any], stored_event: StoredEvent) -> tuple[Any, str | None, str | None]:
    """The event, its ``traceparent`` and its ``chainhash`` through ``mapper`` (None where it keeps none)."""
    if isinstance(mapper, ChainedMapper):
        return mapper.annotated(stored_event)
    return mapper.to_domain_event(stored_event), None, None


def published_form(mapper: Mapper[Any], stored_event: StoredEvent) -> Envelope:
    """What the relay will publish of a stored incident event (its ``position`` aside, which is not hashed)."""
    event: Any = mapper.to_domain_event(stored_event)  # an aggregate's: the mapper is typed for any domain event
    envelope = translate.to_envelope(event, 0)
    if envelope is None:
        raise ValueError(f"a private event has no place in a chain: {stored_event.topic}")
    return envelope


class Heads:
    """The last ``chainhash`` this replica stored for each of the incidents it saved most recently, with its
    version: a save asks for exactly the version before its first event, so a head moved on elsewhere is
    simply not found here."""

    def __init__(self, kept: int = HEADS_KEPT):
        self._kept, self._heads = kept, OrderedDict[UUID, tuple[int, str]]()
        self._lock = threading.Lock()

    def get(self, incident_id: UUID, version: int) -> str | None:
        with self._lock:
            head = self._heads.get(incident_id)
            return head[1] if head is not None and head[0] == version else None

    def put(self, incident_id: UUID, version: int, chainhash: str) -> None:
        with self._lock:
            self._heads[incident_id] = (version, chainhash)
            self._heads.move_to_end(incident_id)
            while len(self._heads) > self._kept:
                self._heads.popitem(last=False)


class ChainedEventStore(EventStore[UUID]):
    """The application's event store: incident events stored with their ``chainhash``."""

    def __init__(self, mapper: ChainedMapper, recorder: Any):
        super().__init__(mapper, recorder)
        self.chained_mapper = mapper
        self.heads = Heads()

    def put(self, domain_events: Sequence[Any], **kwargs: Any) -> list[Recording[UUID]]:
        stored_events, heads = self.chained(domain_events)
        notification_ids = self.recorder.insert_events(stored_events, **kwargs)
        if not notification_ids:
            return []
        for (incident_id, version), chainhash in heads.items():  # stored: they are the heads now
            self.heads.put(incident_id, version, chainhash)
        return [
            Recording(event, Notification(s.originator_id, s.originator_version, s.topic, s.state, id=n))
            for event, s, n in zip(domain_events, stored_events, notification_ids, strict=True)
        ]

    def chained(self, domain_events: Sequence[Any]) -> tuple[list[StoredEvent], dict[tuple[UUID, int], str]]:
        """The events to store, each incident event with its ``chainhash``; and each incident's new head."""
        mapper, stored_events = self.chained_mapper, []
        latest: dict[UUID, tuple[int, str]] = {}
        traceparent = tracing.current_header()
        for event in domain_events:
            stored = mapper.to_stored_event(event)
            if is_chained(event):
                incident_id, version = event.originator_id, event.originator_version
                before = latest.get(incident_id)
                previous = before[1] if before is not None else self.previous(incident_id, version)
                chainhash = chain.link(previous, published_form(mapper, stored))
                stored = mapper.stored_with(event, traceparent, chainhash)
                latest[incident_id] = (version, chainhash)
            stored_events.append(stored)
        return stored_events, {(incident_id, v): chainhash for incident_id, (v, chainhash) in latest.items()}

    def previous(self, incident_id: UUID, version: int) -> str:
        """The ``chainhash`` of the event before ``version``: remembered, or read from the store."""
        if version == 1:
            return chain.GENESIS
        remembered = self.heads.get(incident_id, version - 1)
        if remembered is not None:
            return remembered
        found = self.recorder.select_events(incident_id, gt=version - 2, lte=version - 1, limit=1)
        if found:
            stored_hash = annotated(self.mapper, found[0])[2]
            if stored_hash is not None:
                return str(stored_hash)
        return self.derived(incident_id, version - 1)

    def derived(self, incident_id: UUID, version: int) -> str:
        """The chain up to ``version`` where some event has no stored hash (one stored by a replica older than
        the chain, while the store was being upgraded): each stored hash taken, each missing one computed."""
        previous = chain.GENESIS
        for stored in self.recorder.select_events(incident_id, lte=version):
            stored_hash = annotated(self.mapper, stored)[2]
            previous = stored_hash or chain.link(previous, published_form(self.chained_mapper, stored))
        return previous

"""The CloudEvents 1.0 structured envelope every published event travels in."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Event ids derived from (aggregate, version) are stable, so a re-published event keeps its id
# and JetStream's de-duplication and the consumers' processed-events record both recognise it.
EVENT_ID_NAMESPACE = uuid.UUID("6f1d8a52-8f1e-4d3c-9a57-0c7bde3c1b11")


def event_id(aggregate_id: str, sequence: int) -> str:
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{aggregate_id}:{sequence}"))


class Envelope(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str = "1.0"
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: str = "application/json"
    data: dict[str, Any]
    # The producing aggregate's version: consumers apply one subject's events in this order.
    sequence: int = Field(ge=1)
    # The producer's global order (the event store's notification id, or an outbox position).
    position: int = Field(ge=0)

    @property
    def traceparent(self) -> str | None:
        """The W3C trace context of the work that produced the event, when it had one: the CloudEvents
        distributed-tracing extension attribute, sent beside the fields above only when present."""
        value = (self.model_extra or {}).get("traceparent")
        return value if isinstance(value, str) else None

    @property
    def chainhash(self) -> str | None:
        """An incident event's link in its incident's hash chain (``sha256:…``, docs/events.md says how it is
        made): a CloudEvents extension attribute, sent beside the fields above only when present."""
        value = (self.model_extra or {}).get("chainhash")
        return value if isinstance(value, str) else None

    def extended(self, **attributes: str | None) -> "Envelope":
        """This envelope with these extension attributes, those that have a value (None: left out)."""
        present = {name: value for name, value in attributes.items() if value is not None}
        return self.model_copy(update=present) if present else self

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Envelope":
        return cls.model_validate_json(raw)

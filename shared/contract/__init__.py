"""The published event contract: types, envelope, streams."""

from shared.contract.envelope import Envelope, event_id
from shared.contract.events import EVENT_TYPES, timer_type, validate
from shared.contract.streams import CONSUMERS, STREAMS, Consumer, Stream, stream_of

__all__ = [
    "Envelope",
    "event_id",
    "EVENT_TYPES",
    "timer_type",
    "validate",
    "CONSUMERS",
    "STREAMS",
    "Consumer",
    "Stream",
    "stream_of",
]

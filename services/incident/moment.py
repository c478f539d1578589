"""The moment a command happens, as the incident's events record it.

A command's rules read the incident's clock once (``Context.at``); its events carry that same moment
as their timestamp, which the relay publishes as the CloudEvent's ``time``. So the deadlines the
downstream services count from an event's time are the very instants the incident service counts
from (docs/process.md: one kernel, the same instants) — not a clock read a little later.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_MOMENT: ContextVar[datetime | None] = ContextVar("warroom_command_moment", default=None)


@contextmanager
def of_command(at: datetime) -> Iterator[None]:
    """Events triggered inside are stamped ``at``."""
    token = _MOMENT.set(at)
    try:
        yield
    finally:
        _MOMENT.reset(token)


def now() -> datetime:
    """The command's moment, or the wall clock for events triggered outside a command."""
    return _MOMENT.get() or datetime.now(UTC)

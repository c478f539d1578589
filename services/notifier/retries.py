"""How failing deliveries are retried (F8). Pure: the caller draws the jitter and gives the moment."""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# Retries: 5 s, 10 s, 20 s, … doubling up to an hour apart, each ±25 % so that deliveries failing
# together do not all come back together; the delivery has failed after the last attempt
# (about two and a half hours after the first try).
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 12
JITTER = 0.25
# A receiver asking for more patience than this (Retry-After) gets this much.
LONGEST_RETRY_AFTER = timedelta(hours=24)


def retry_delay(attempts: int, jitter: float) -> timedelta | None:
    """How long after failed attempt number ``attempts`` to try again; None once given up.

    ``jitter`` is a number in [0, 1), drawn at random by the caller.
    """
    if attempts >= MAX_ATTEMPTS:
        return None
    base = min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)
    return base * (1 - JITTER + 2 * JITTER * jitter)


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as a delay from ``now``; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = when - now
    return min(max(delay, timedelta(seconds=1)), LONGEST_RETRY_AFTER)

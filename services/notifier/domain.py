"""How failing deliveries are retried, and what names things.

Pure: no SQL, HTTP or NATS here, so the decisions read (and test) on their own. When a notice may
reach a person (R11 immediacy) is the process kernel's rule: ``shared.process.hours.reachable_at``.
"""
import fnmatch
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

WEBHOOK, EMAIL, SUBSCRIPTION, ISSUE_TRACKER = "webhook", "email", "subscription", "issue_tracker"

# Retries: 5 s, 10 s, 20 s, … doubling up to an hour apart, each ±25 % so that deliveries failing
# together do not all come back together; the delivery has failed after the last attempt
# (about two and a half hours after the first try).
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 12
JITTER = 0.25
# A receiver asking for more patience than this (Retry-After) gets this much.
LONGEST_RETRY_AFTER = timedelta(hours=24)

# Deliveries are named by what they deliver, so the same notice always has the same id: the
# webhook-id a receiver de-duplicates on, whichever replica, restart or rebuild queues it.
DELIVERY_NAMESPACE = uuid.UUID("2b0f7c1e-5d8a-4f3b-9e61-7a4c2d9e8f10")


# --- retries ---

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


# --- names ---

def delivery_id(event_id: str, recipient: str, channel: str) -> str:
    return str(uuid.uuid5(DELIVERY_NAMESPACE, f"{event_id}:{recipient}:{channel}"))


def endpoint(channel: str, recipient: str, target: str | None) -> str | None:
    """What a 410 Gone disables: a subscription, or a webhook URL; never an email address."""
    if channel == SUBSCRIPTION:
        return f"subscription:{recipient}"
    if channel in (WEBHOOK, ISSUE_TRACKER):
        return target
    return None


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """Whether a subscription's patterns (``*`` matches any run of characters, dots too) take this type."""
    return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in patterns)

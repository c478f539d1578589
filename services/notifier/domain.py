"""How failing deliveries are retried, and what names things.

Pure: no SQL, HTTP or NATS here, so the decisions read (and test) on their own. When a notice may
reach a person (R11 immediacy) is the process kernel's rule: ``shared.process.hours.reachable_at``.
"""
import fnmatch
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from shared.process.hours import ANY_HOUR

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


# --- isolation (F14): one endpoint's trouble is its own ---

# Which deliveries go first when several are due: pages and escalations, then the other notices
# to people, then copies for other systems (subscriptions, the issue tracker).
URGENT, PERSONAL, COPY = 0, 1, 2
URGENT_REASONS = frozenset({"paged", "escalated"})

# Attempts one replica has in flight to one endpoint: a hanging receiver holds at most this many.
PER_ENDPOINT = 2
# Consecutive failures (no answer, or 5xx/429) that park an endpoint; parked for FIRST_PARK,
# doubling at each failed probe up to LONGEST_PARK.
FAILURES_TO_PARK = 3
FIRST_PARK = timedelta(seconds=5)
LONGEST_PARK = timedelta(minutes=5)
# Every SMTP delivery goes through the one configured mail server: that is its endpoint.
MAIL_SERVER = "smtp"


def priority(channel: str, reason: str, immediacy: str | None, reminder: bool) -> int:
    """Where a delivery stands in the queue; ``reminder``: it was a timer's (a deadline reminder)."""
    if channel in (SUBSCRIPTION, ISSUE_TRACKER):
        return COPY
    if reason in URGENT_REASONS or (immediacy == ANY_HOUR and not reminder):
        return URGENT
    return PERSONAL


def circuit(channel: str, target: str | None) -> str | None:
    """The endpoint whose health a delivery shares: a URL's origin (every path of one server fails
    together), or the mail server; None for a delivery that goes nowhere."""
    if target is None:
        return None
    if channel == EMAIL:
        return MAIL_SERVER
    scheme, _, rest = target.partition("://")
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme.lower()}://{authority.lower()}"


def park_for(parks: int) -> timedelta:
    """How long an endpoint stays parked the ``parks``-th time in a row (1, 2, …) before a probe."""
    return min(FIRST_PARK * 2 ** (max(parks, 1) - 1), LONGEST_PARK)

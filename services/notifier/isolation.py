"""No noisy neighbour (F14): one endpoint's trouble is its own — queue order, circuits and parking.

Pure: no SQL, HTTP or NATS here. When a notice may reach a person (R11 immediacy) is the process
kernel's rule: ``shared.process.hours.reachable_at``.
"""

from datetime import timedelta

from services.notifier.names import CHAT, EMAIL, ISSUE_TRACKER, SUBSCRIPTION
from shared import sealing
from shared.process.hours import ANY_HOUR

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
    if channel == CHAT:  # the room hears of it beside the people: never before a page
        return PERSONAL
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
    if sealing.is_sealed(target):  # a secret (S11): its server is not known before it is opened, at sending
        return f"sealed:{sealing.fingerprint(target)}"
    scheme, _, rest = target.partition("://")
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme.lower()}://{authority.lower()}"


def park_for(parks: int) -> timedelta:
    """How long an endpoint stays parked the ``parks``-th time in a row (1, 2, …) before a probe."""
    return min(FIRST_PARK * 2 ** (max(parks, 1) - 1), LONGEST_PARK)

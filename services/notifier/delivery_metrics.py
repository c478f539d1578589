"""What the notifier shows in /metrics: deliveries the consumers queued, the worker's attempts and failures
per channel (F8), how long an attempt takes and how long a delivery waited, and the endpoints' circuits
(F14)."""

from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram

ATTEMPTS = Counter(
    "warroom_notifier_attempts_total", "Delivery attempts by channel and outcome", ["channel", "outcome"]
)
GIVEN_UP = Counter(
    "warroom_notifier_deliveries_given_up_total",
    "Deliveries ended without success: failed after the last attempt, refused by the SSRF guard, "
    "or disabled with their endpoint",
    ["channel", "state"],
)
CIRCUITS = Gauge(
    "warroom_notifier_endpoints",
    "Endpoints that ever failed, by circuit state "
    "(closed: delivered to; open: parked, its deliveries held; half_open: being probed)",
    ["state"],
)
PARKED = Counter("warroom_notifier_endpoints_parked_total", "Times an endpoint was parked after failing")
QUEUED = Counter(
    "warroom_notifier_deliveries_queued_total",
    "Deliveries queued, by channel and whether deferred to the recipient's hours",
    ["channel", "deferred"],
)
IN_FLIGHT = Gauge("warroom_notifier_attempts_in_flight", "Delivery attempts in flight in this replica")
DURATION = Histogram(
    "warroom_delivery_duration_seconds",
    "How long one delivery attempt took (the webhook POST or the SMTP exchange), by channel",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
LATENCY = Histogram(
    "warroom_delivery_latency_seconds",
    "From a delivery's being due (queued, or the end of a person's quiet hours) to its delivery, by channel",
    ["channel"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0),
)


def delivered(channel: str, queued: datetime, not_before: datetime | None, at: datetime) -> None:
    """A delivery's wait, counted from when it might first have been sent."""
    due = max(queued, not_before) if not_before is not None else queued
    LATENCY.labels(channel).observe(max(0.0, (at - due).total_seconds()))

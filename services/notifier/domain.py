"""When a message may reach a person, how failing deliveries are retried, and what names things.

Pure: no SQL, HTTP or NATS here, so the decisions read (and test) on their own.

Immediacy (R11) in the recipient's own timezone: ``any_hour`` is now; ``waking_hours`` is
within their waking hours (calls before work are fine, waking people is not — so their
working hours count too, for people who work at night); ``next_business_day`` is within
their working hours. Hours are ``"HH:MM"``, ``end`` exclusive, ``"00:00"``–``"24:00"`` is the
whole day, and an end at or before the start runs past midnight (a night shift belongs to the
ISO weekday it starts on).
"""
import fnmatch
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ANY_HOUR, WAKING_HOURS, NEXT_BUSINESS_DAY = "any_hour", "waking_hours", "next_business_day"
# Waking hours of a person who did not give theirs: the spec's example.
DEFAULT_WAKING = {"start": "07:00", "end": "22:00"}
EVERY_DAY = frozenset(range(1, 8))
DAY = 24 * 60

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


# --- immediacy ---

@dataclass(frozen=True)
class Window:
    """Open from ``start`` to ``end`` minutes past local midnight on the ISO weekdays ``days``."""
    start: int
    end: int
    days: frozenset[int]

    @classmethod
    def of(cls, hours: dict, days: Iterable[int] = EVERY_DAY) -> "Window":
        return cls(_minutes(hours["start"]), _minutes(hours["end"]), frozenset(days))

    def length(self) -> int:
        return self.end - self.start if self.end > self.start else self.end + DAY - self.start


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def windows_for(person: dict, immediacy: str) -> list[Window]:
    """The windows in which ``immediacy`` lets a message reach ``person``; [] means at any hour."""
    working = person.get("working_hours")
    work = [Window.of(working, working.get("days", ()))] if working else []
    if immediacy == NEXT_BUSINESS_DAY:
        return work
    if immediacy == WAKING_HOURS:
        return [Window.of(person.get("waking_hours") or DEFAULT_WAKING), *work]
    return []


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # the incident service checks names; an old or odd one should not block a page


def _local(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    whole_days, rest = divmod(minutes, DAY)
    moment = datetime.combine(day + timedelta(days=whole_days), time(rest // 60, rest % 60), tzinfo=tz)
    return moment.astimezone(UTC)


def openings(window: Window, tz: ZoneInfo, around: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The window's intervals (UTC) from the one that may have begun yesterday to a week ahead."""
    today = around.astimezone(tz).date()
    for offset in range(-1, 9):
        day = today + timedelta(days=offset)
        if day.isoweekday() in window.days:
            opens, closes = _local(day, window.start, tz), _local(day, window.start + window.length(), tz)
            if opens < closes:  # a DST jump can swallow a very short window
                yield opens, closes


def deliver_at(person: dict, immediacy: str | None, now: datetime) -> datetime:
    """The first moment from ``now`` on at which ``immediacy`` allows reaching ``person``."""
    windows = windows_for(person, immediacy or ANY_HOUR)
    tz = zone(person.get("timezone"))
    earliest = None
    for window in windows:
        for opens, closes in openings(window, tz, now):
            if opens <= now < closes:
                return now
            if opens > now and (earliest is None or opens < earliest):
                earliest = opens
    # No window at all (no working days given): holding the message forever would be worse.
    return earliest or now


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

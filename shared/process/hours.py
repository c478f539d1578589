"""When a notice may reach a person: the level's immediacy against their own hours (R11). Pure.

``any_hour`` is now; ``waking_hours`` is within their waking hours (calls before work are fine,
waking people is not — so their working hours count too, for people who work at night);
``next_business_day`` is within their working hours. Hours are ``"HH:MM"`` in the person's
timezone, ``end`` exclusive, ``"00:00"``–``"24:00"`` is the whole day, and an end at or before the
start runs past midnight (a night shift belongs to the ISO weekday it starts on).
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ANY_HOUR, WAKING_HOURS, NEXT_BUSINESS_DAY = "any_hour", "waking_hours", "next_business_day"
# Waking hours of a person who did not give theirs.
DEFAULT_WAKING = {"start": "07:00", "end": "22:00"}
EVERY_DAY = frozenset(range(1, 8))
DAY = 24 * 60


@dataclass(frozen=True)
class Window:
    """Open from ``start`` to ``end`` minutes past local midnight on the ISO weekdays ``days``."""

    start: int
    end: int
    days: frozenset[int]

    @classmethod
    def of(cls, hours: Mapping[str, str], days: Iterable[int] = EVERY_DAY) -> "Window":
        return cls(_minutes(hours["start"]), _minutes(hours["end"]), frozenset(days))

    def length(self) -> int:
        return self.end - self.start if self.end > self.start else self.end + DAY - self.start


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def windows_for(person: Mapping[str, Any], immediacy: str) -> list[Window]:
    """The windows in which ``immediacy`` lets a notice reach ``person``; [] means at any hour."""
    working = person.get("working_hours")
    work = [Window.of(working, working.get("days", ()))] if working else []
    if immediacy == NEXT_BUSINESS_DAY:
        return work
    if immediacy == WAKING_HOURS:
        return [Window.of(person.get("waking_hours") or DEFAULT_WAKING), *work]
    return []


@lru_cache(maxsize=256)
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # names are checked on registration; an old or odd one must not block a page


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


def reachable_at(person: Mapping[str, Any] | None, immediacy: str | None, at: datetime) -> datetime:
    """The first moment from ``at`` on at which ``immediacy`` lets a notice reach ``person``.

    Nobody known (``person`` None) is reachable at once: there are no hours to wait for."""
    if person is None:
        return at
    return _reachable(_hours_key(person), immediacy or ANY_HOUR, at)


# What of a person the reachability depends on, hashable for the cache: the timezone, the working
# hours (start, end, ISO weekdays) and the waking hours (start, end).
HoursKey = tuple[str | None, tuple[str, str, tuple[int, ...]] | None, tuple[str, str] | None]


def _hours_key(person: Mapping[str, Any]) -> HoursKey:
    working, waking = person.get("working_hours"), person.get("waking_hours")
    return (
        person.get("timezone"),
        None if not working else (working["start"], working["end"], tuple(working.get("days", ()))),
        None if not waking else (waking["start"], waking["end"]),
    )


# The incident shows a page's deadline on every answer while the page waits: the same question, often.
@lru_cache(maxsize=4096)
def _reachable(key: HoursKey, immediacy: str, at: datetime) -> datetime:
    timezone, working, waking = key
    person = {
        "working_hours": None if working is None else {"start": working[0], "end": working[1], "days": working[2]},
        "waking_hours": None if waking is None else {"start": waking[0], "end": waking[1]},
    }
    tz = zone(timezone)
    earliest: datetime | None = None
    for window in windows_for(person, immediacy):
        for opens, closes in openings(window, tz, at):
            if opens <= at < closes:
                return at
            if opens > at and (earliest is None or opens < earliest):
                earliest = opens
    # No window at all (no working days given): holding the notice forever would be worse.
    return earliest or at


def hours_of(person: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Only what the time rules read of a person, so services keep and compare the same thing."""
    if person is None:
        return None
    return {
        "timezone": person.get("timezone"),
        "working_hours": person.get("working_hours"),
        "waking_hours": person.get("waking_hours"),
    }

"""How times and durations read in the report: the same words in every format."""

from datetime import UTC, datetime
from typing import overload


def human(seconds: float | None) -> str:
    """A duration as people say it: "45 s", "4 min 30 s", "1 h 30 min", "2 d 4 h"."""
    if seconds is None:
        return "—"
    if seconds < 10 and seconds != int(seconds):
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    if not any(value for value, _ in parts):
        return "0 s"
    # The two largest units are precise enough for a post-mortem.
    first = next(i for i, (value, _) in enumerate(parts) if value)
    return " ".join(f"{value} {unit}" for value, unit in parts[first : first + 2] if value)


@overload
def as_time(value: datetime | str) -> datetime: ...
@overload
def as_time(value: None) -> None: ...
@overload
def as_time(value: datetime | str | None) -> datetime | None: ...
def as_time(value: datetime | str | None) -> datetime | None:
    """A moment from the document, whether it is fresh (datetime) or read back from JSON (ISO text)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def when(value: datetime | str | None, seconds: bool = False) -> str:
    """A moment in UTC: "2026-01-05 09:00 UTC" (seconds on request)."""
    moment = as_time(value)
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " UTC"


def day(value: datetime | str | None) -> str:
    moment = as_time(value)
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d")


def clock(value: datetime | str | None) -> str:
    """A moment in a timeline: "2026-01-05 09:00:07"."""
    moment = as_time(value)
    return "—" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def span(start: datetime | str, end: datetime | str | None) -> str:
    """An interval: "2026-01-05 09:00–09:15 UTC (15 min)", or open-ended while it lasts."""
    first, last = as_time(start), as_time(end)
    if last is None:
        return f"{when(first)} → still going"
    same_day = first.astimezone(UTC).date() == last.astimezone(UTC).date()
    until = last.astimezone(UTC).strftime("%H:%M") + " UTC" if same_day else when(last)
    return (
        f"{when(first).removesuffix(' UTC')}{'–' if same_day else ' → '}{until} "
        f"({human((last - first).total_seconds())})"
    )


def hour(value: datetime | str | None) -> str:
    moment = as_time(value)
    return "—" if moment is None else moment.astimezone(UTC).strftime("%H:%M:%S")

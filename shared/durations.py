"""ISO 8601 durations, as every body of the API spells them ("PT7H", "PT30S")."""

from datetime import timedelta
from functools import lru_cache
from typing import cast

import isodate


@lru_cache(maxsize=1024)  # a process document has a few dozen distinct durations, read on every command
def parse(text: str) -> timedelta:
    value = isodate.parse_duration(text)
    if not isinstance(value, timedelta):
        # Years and months have no fixed length: a deadline needs one.
        raise ValueError(f"{text!r}: use days, hours, minutes or seconds, not years or months")
    if value <= timedelta(0):
        raise ValueError(f"{text!r}: a duration must be positive")
    return value


def format(value: timedelta) -> str:
    # isodate is untyped; for a timedelta it writes an ISO 8601 duration string.
    return cast(str, isodate.duration_isoformat(value))

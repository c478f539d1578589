"""R11 immediacy, the process kernel's rule: when a notice may reach a person, in their own timezone,
hours and weekdays (what the notifier delivers by and the acknowledgement deadline starts from)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.process.hours import (
    ANY_HOUR,
    NEXT_BUSINESS_DAY,
    WAKING_HOURS,
    reachable_at,
)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def person(tz="UTC", working=("09:00", "17:00"), days=(1, 2, 3, 4, 5), waking=None) -> dict:
    p = {"id": "p", "timezone": tz, "working_hours": {"start": working[0], "end": working[1], "days": list(days)}}
    if waking:
        p["waking_hours"] = {"start": waking[0], "end": waking[1]}
    return p


# 2026-03-02 is a Monday.
MONDAY_NIGHT = utc(2026, 3, 2, 3, 0)


def test_r11_any_hour_sends_now_whatever_the_hour():
    assert reachable_at(person(), ANY_HOUR, MONDAY_NIGHT) == MONDAY_NIGHT
    assert reachable_at(person(), None, MONDAY_NIGHT) == MONDAY_NIGHT


def test_r11_waking_hours_wait_for_the_default_waking_start_not_for_work():
    assert reachable_at(person(), WAKING_HOURS, MONDAY_NIGHT) == utc(2026, 3, 2, 7, 0)


def test_r11_waking_hours_are_the_persons_own_in_their_timezone():
    # 03:00 UTC is 22:00 the day before in New York (EST): their waking hours end at 23:00.
    ny = person("America/New_York", waking=("06:30", "23:00"))
    assert reachable_at(ny, WAKING_HOURS, MONDAY_NIGHT) == MONDAY_NIGHT
    # Tokyo (UTC+9): 03:00 UTC is noon.
    assert reachable_at(person("Asia/Tokyo", waking=("08:00", "21:00")), WAKING_HOURS, MONDAY_NIGHT) == MONDAY_NIGHT
    # At 13:00 UTC it is 22:00 in Tokyo: wait until 08:00 there, 23:00 UTC.
    assert reachable_at(person("Asia/Tokyo", waking=("08:00", "21:00")), WAKING_HOURS, utc(2026, 3, 2, 13, 0)) == utc(
        2026, 3, 2, 23, 0
    )


def test_r11_waking_hours_include_working_hours_so_night_workers_are_reachable_at_work():
    night_shift = person(working=("22:00", "06:00"), waking=("14:00", "22:00"))
    tuesday_night = utc(2026, 3, 3, 3, 0)  # in Monday's shift
    assert reachable_at(night_shift, WAKING_HOURS, tuesday_night) == tuesday_night
    # Monday 03:00 belongs to Sunday night, which is no working day: wait until waking at 14:00.
    assert reachable_at(night_shift, WAKING_HOURS, MONDAY_NIGHT) == utc(2026, 3, 2, 14, 0)


def test_r11_next_business_day_waits_for_working_hours_and_working_days():
    assert reachable_at(person(), NEXT_BUSINESS_DAY, MONDAY_NIGHT) == utc(2026, 3, 2, 9, 0)
    friday_evening = utc(2026, 3, 6, 17, 0)  # end is exclusive: 17:00 is already after work
    assert reachable_at(person(), NEXT_BUSINESS_DAY, friday_evening) == utc(2026, 3, 9, 9, 0)
    assert reachable_at(person(), NEXT_BUSINESS_DAY, utc(2026, 3, 6, 16, 59)) == utc(2026, 3, 6, 16, 59)


def test_r11_iso_weekdays_seven_is_sunday():
    sundays_only = person(days=(7,))
    assert reachable_at(sundays_only, NEXT_BUSINESS_DAY, MONDAY_NIGHT) == utc(2026, 3, 8, 9, 0)


def test_r11_midnight_to_24_00_is_the_whole_day():
    always = person(working=("00:00", "24:00"), days=(2,))
    assert reachable_at(always, NEXT_BUSINESS_DAY, MONDAY_NIGHT) == utc(2026, 3, 3, 0, 0)
    assert reachable_at(always, NEXT_BUSINESS_DAY, utc(2026, 3, 3, 23, 59, 59)) == utc(2026, 3, 3, 23, 59, 59)
    assert reachable_at(always, NEXT_BUSINESS_DAY, utc(2026, 3, 4, 0, 0)) == utc(2026, 3, 10, 0, 0)


def test_r11_a_shift_past_midnight_belongs_to_the_day_it_starts():
    # Friday 22:00 to Saturday 06:00 only: Saturday 03:00 is inside, Sunday 03:00 is not.
    friday_nights = person(working=("22:00", "06:00"), days=(5,))
    assert reachable_at(friday_nights, NEXT_BUSINESS_DAY, utc(2026, 3, 7, 3, 0)) == utc(2026, 3, 7, 3, 0)
    assert reachable_at(friday_nights, NEXT_BUSINESS_DAY, utc(2026, 3, 8, 3, 0)) == utc(2026, 3, 13, 22, 0)


def test_r11_working_hours_follow_daylight_saving_time():
    # London switches to BST on 2026-03-29: 09:00 local is 09:00 UTC before, 08:00 UTC after.
    london = person("Europe/London")
    assert reachable_at(london, NEXT_BUSINESS_DAY, utc(2026, 3, 27, 3, 0)) == utc(2026, 3, 27, 9, 0)
    assert reachable_at(london, NEXT_BUSINESS_DAY, utc(2026, 3, 30, 3, 0)) == utc(2026, 3, 30, 8, 0)


def test_r11_someone_without_any_working_day_is_not_held_back_forever():
    assert reachable_at(person(days=()), NEXT_BUSINESS_DAY, MONDAY_NIGHT) == MONDAY_NIGHT


def test_r11_an_unknown_timezone_counts_as_utc():
    assert reachable_at(person("Mars/Olympus"), NEXT_BUSINESS_DAY, MONDAY_NIGHT) == utc(2026, 3, 2, 9, 0)


# --- properties, against an independent reading of the rules, in zones without daylight saving ---

ZONES = ["UTC", "Asia/Kolkata", "Asia/Kathmandu", "America/Bogota", "Pacific/Kiritimati"]
quarter_hours = st.integers(0, 96).map(lambda q: f"{q // 4:02d}:{q % 4 * 15:02d}")
moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))


def is_open(local: datetime, start: str, end: str, days) -> bool:
    """The rule as the spec states it: end exclusive, 24:00 the day's end, an end at or before the
    start runs into the next day (and belongs to the weekday it started on)."""
    minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60e6
    s, e = (int(t[:2]) * 60 + int(t[3:]) for t in (start, end))
    today, yesterday = local.isoweekday(), (local.isoweekday() - 2) % 7 + 1
    if e > s:
        return today in days and s <= minute < e
    return (today in days and minute >= s) or (yesterday in days and minute < e)


@settings(max_examples=150, deadline=None)
@given(
    now=moments,
    tz=st.sampled_from(ZONES),
    start=quarter_hours,
    end=quarter_hours,
    days=st.sets(st.integers(1, 7), min_size=1),
)
def test_r11_next_business_day_is_the_first_open_moment_from_now(now, tz, start, end, days):
    if start == "24:00":
        start = "00:00"
    who, zone = person(tz, (start, end), sorted(days)), ZoneInfo(tz)
    at = reachable_at(who, NEXT_BUSINESS_DAY, now)

    assert at >= now and is_open(at.astimezone(zone), start, end, days)
    if at > now:
        # Nothing open in between: windows open on quarter hours, so checking those (and now) suffices.
        assert not is_open(now.astimezone(zone), start, end, days)
        step = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0) + timedelta(minutes=15)
        while step < at:
            assert not is_open(step.astimezone(zone), start, end, days), step
            step += timedelta(minutes=15)


@settings(max_examples=80, deadline=None)
@given(now=moments, tz=st.sampled_from(ZONES), wake=quarter_hours, sleep=quarter_hours)
def test_r11_waking_hours_never_land_outside_waking_or_working_hours(now, tz, wake, sleep):
    if wake == "24:00":
        wake = "00:00"
    who, zone = person(tz, waking=(wake, sleep)), ZoneInfo(tz)
    at = reachable_at(who, WAKING_HOURS, now)
    local = at.astimezone(zone)
    assert at >= now and at - now <= timedelta(days=1)
    assert is_open(local, wake, sleep, range(1, 8)) or is_open(local, "09:00", "17:00", {1, 2, 3, 4, 5})


@pytest.mark.parametrize("immediacy", [ANY_HOUR, WAKING_HOURS, NEXT_BUSINESS_DAY])
def test_r11_inside_the_window_a_message_goes_now(immediacy):
    monday_ten = utc(2026, 3, 2, 10, 0)
    assert reachable_at(person(), immediacy, monday_ten) == monday_ten


def test_r11_nobody_known_is_reachable_at_once():
    assert reachable_at(None, NEXT_BUSINESS_DAY, MONDAY_NIGHT) == MONDAY_NIGHT

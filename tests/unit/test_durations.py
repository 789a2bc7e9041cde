"""Tests of durations: parsing, the template-aware check, and adding them to dates and times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from frontdesk.runtime.calendar import BusinessCalendar, package_holidays
from frontdesk.runtime.durations import (
    UNITS,
    Duration,
    DurationError,
    add,
    is_duration_text,
    parse_duration,
)

NY = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def us() -> BusinessCalendar:
    """US federal holidays with the practice closed on Christmas Eve 2026."""
    return BusinessCalendar(package_holidays("US"), closed=[date(2026, 12, 24)])


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("1 minute", 1, "minute"),
        ("15 minutes", 15, "minute"),
        ("1 hour", 1, "hour"),
        ("48 hours", 48, "hour"),
        ("0 days", 0, "day"),
        ("1 day", 1, "day"),
        ("90 days", 90, "day"),
        ("1 business day", 1, "business_day"),
        ("3 business days", 3, "business_day"),
        ("2 weeks", 2, "week"),
        ("1 month", 1, "month"),
        ("12 months", 12, "month"),
        ("1 year", 1, "year"),
        ("2 years", 2, "year"),
        ("  3 DAYS  ", 3, "day"),
        ("3 Business Days", 3, "business_day"),
        ("3 business   days", 3, "business_day"),
        ("5\tdays", 5, "day"),
        ("1 days", 1, "day"),
        ("016 days", 16, "day"),
    ],
)
def test_parse_accepts(text: str, amount: int, unit: str) -> None:
    """``N unit`` in any case, singular or plural, with spaces around, parses."""
    assert parse_duration(text) == Duration(amount, unit)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a number and a unit"),
        ("   ", "expected a number and a unit"),
        ("3", "expected a number and a unit"),
        ("days", "expected a number and a unit"),
        ("three days", "the number 'three' must be a whole number"),
        ("-3 days", "the number '-3' must be a whole number"),
        ("+3 days", "must be a whole number"),
        ("1.5 days", "must be a whole number"),
        ("\u0663 days", "must be a whole number"),  # an Arabic-Indic digit three
        ("{{ settings.window }} days", "must be a whole number"),
        ("3days", "expected a number and a unit"),
        (
            "3 fortnights",
            "bad duration '3 fortnights': unit must be one of minutes, hours, days, "
            "business days, weeks, months, years",
        ),
        ("3 bussiness days", "did you mean 'business days'"),
        ("3 business", "unit must be one of"),
        ("3 businessdays", "unit must be one of"),
        ("3 days later", "unit must be one of"),
        ("3 business_days", "unit must be one of"),
        ("3 dayss", "unit must be one of"),
    ],
)
def test_parse_refuses(text: str, message: str) -> None:
    """Anything but ``N unit`` is a ``DurationError`` saying what is wrong."""
    with pytest.raises(DurationError) as raised:
        parse_duration(text)
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_duration_str_and_kind() -> None:
    """``str`` writes a duration as a playbook would; only minutes and hours are not date-based."""
    assert str(Duration(3, "business_day")) == "3 business days"
    assert str(Duration(1, "month")) == "1 month"
    assert str(Duration(0, "day")) == "0 days"
    assert str(Duration(1, "business_day")) == "1 business day"
    assert [unit for unit in UNITS if Duration(1, unit).is_date_based] == [
        "day",
        "business_day",
        "week",
        "month",
        "year",
    ]
    for unit in UNITS:
        for amount in (1, 2):
            assert parse_duration(str(Duration(amount, unit))) == Duration(amount, unit)


def test_duration_refuses_bad_fields() -> None:
    """A ``Duration`` cannot hold an unknown unit or a negative amount."""
    with pytest.raises(DurationError, match="unknown duration unit"):
        Duration(1, "fortnight")
    with pytest.raises(DurationError, match="0 or more"):
        Duration(-1, "day")


@pytest.mark.parametrize(
    "text",
    [
        "3 days",
        " 3 Business Days ",
        "{{ settings.window }} days",
        "{{settings.appeal_window_days}} business days",
        " {{ x + 1 }} Months ",
        "{{ settings['n'] }} hour",
    ],
)
def test_is_duration_text_accepts(text: str) -> None:
    """Plain durations and a ``{{ ... }}`` template in place of N are duration text."""
    assert is_duration_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "{{ settings.window }}",
        "{{ x }} fortnights",
        "{{ }} days",
        "{{ x }}days",
        "{{ a }} {{ b }} days",
        "x days",
        "-1 days",
        "3 weeks {{ x }}",
        "",
        3,
        None,
    ],
)
def test_is_duration_text_refuses(text: object) -> None:
    """Anything else, including non-strings, is not duration text."""
    assert not is_duration_text(text)


def test_business_days_thanksgiving(us: BusinessCalendar) -> None:
    """DOMAIN 6.5: I-9 Section 2 for a Monday 2026-11-23 hire is due Friday 2026-11-27."""
    due = add(date(2026, 11, 23), parse_duration("3 business days"), us, NY)
    assert due == date(2026, 11, 27)
    assert type(due) is date


def test_business_days_before_closed_christmas_eve(us: BusinessCalendar) -> None:
    """``sign=-1`` counts business days back, skipping Christmas and the closed Eve."""
    assert add(date(2026, 12, 28), parse_duration("1 business day"), us, NY, -1) == date(
        2026, 12, 23
    )


def test_date_based_units_use_the_local_date(us: BusinessCalendar) -> None:
    """An aware start counts from its date in the practice zone; a naive one is local already."""
    late_monday = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 22:00 Monday in New York
    assert add(late_monday, parse_duration("3 business days"), us, NY) == date(2026, 11, 27)
    assert add(late_monday, parse_duration("1 day"), us, NY) == date(2026, 11, 24)
    naive = datetime(2026, 11, 23, 23, 30)
    result = add(naive, parse_duration("1 week"), us, NY)
    assert result == date(2026, 11, 30)
    assert type(result) is date


@pytest.mark.parametrize(
    ("start", "text", "sign", "expected"),
    [
        (date(2026, 1, 31), "1 month", 1, date(2026, 2, 28)),
        (date(2024, 1, 31), "1 month", 1, date(2024, 2, 29)),
        (date(2026, 3, 31), "1 month", -1, date(2026, 2, 28)),
        (date(2026, 1, 31), "3 months", 1, date(2026, 4, 30)),
        (date(2025, 1, 15), "12 months", 1, date(2026, 1, 15)),
        (date(2024, 2, 29), "1 year", 1, date(2025, 2, 28)),
        (date(2024, 2, 29), "4 years", 1, date(2028, 2, 29)),
        (date(2024, 2, 29), "1 year", -1, date(2023, 2, 28)),
        (date(2026, 11, 23), "2 weeks", 1, date(2026, 12, 7)),
        (date(2026, 11, 23), "2 weeks", -1, date(2026, 11, 9)),
        (date(2025, 1, 15), "120 days", 1, date(2025, 5, 15)),  # DOMAIN 2: redetermination
        (date(2025, 1, 10), "5 days", 1, date(2025, 1, 15)),
        (date(2026, 11, 23), "0 days", 1, date(2026, 11, 23)),
        (date(2026, 11, 28), "0 business days", 1, date(2026, 11, 28)),
    ],
)
def test_calendar_arithmetic(
    us: BusinessCalendar, start: date, text: str, sign: int, expected: date
) -> None:
    """Days and weeks are calendar days; months and years clamp to the end of the month."""
    assert add(start, parse_duration(text), us, NY, sign) == expected


def test_hours_across_spring_forward(us: BusinessCalendar) -> None:
    """24 hours from noon before the March change is 13:00 EDT: exact elapsed time."""
    result = add(datetime(2026, 3, 7, 12, 0), parse_duration("24 hours"), us, NY)
    assert result == datetime(2026, 3, 8, 13, 0, tzinfo=NY)
    assert isinstance(result, datetime)
    assert result.utcoffset() == timedelta(hours=-4)
    assert result.tzinfo is NY


def test_hours_across_fall_back(us: BusinessCalendar) -> None:
    """24 hours from noon before the November change is 11:00 EST."""
    start = datetime(2026, 10, 31, 12, 0, tzinfo=NY)
    result = add(start, parse_duration("24 hours"), us, NY)
    assert result == datetime(2026, 11, 1, 11, 0, tzinfo=NY)
    assert isinstance(result, datetime)
    assert result.utcoffset() == timedelta(hours=-5)


def test_minutes_across_the_gap_and_back(us: BusinessCalendar) -> None:
    """30 minutes after 01:30 EST on the spring-forward night is 03:00 EDT, and back again."""
    before = datetime(2026, 3, 8, 1, 30, tzinfo=NY)
    after = add(before, parse_duration("30 minutes"), us, NY)
    assert isinstance(after, datetime)
    assert (after.hour, after.minute, after.utcoffset()) == (3, 0, timedelta(hours=-4))
    back = add(after, parse_duration("30 minutes"), us, NY, sign=-1)
    assert isinstance(back, datetime)
    assert (back.hour, back.minute, back.utcoffset()) == (1, 30, timedelta(hours=-5))


def test_hours_from_a_date_start_at_local_midnight(us: BusinessCalendar) -> None:
    """A date start means its midnight in the practice zone; 3 h on 2026-03-08 is 04:00 EDT."""
    result = add(date(2026, 3, 8), parse_duration("3 hours"), us, NY)
    assert result == datetime(2026, 3, 8, 4, 0, tzinfo=NY)
    assert isinstance(result, datetime)
    assert result.utcoffset() == timedelta(hours=-4)


def test_hours_result_in_practice_zone(us: BusinessCalendar) -> None:
    """An aware start in another zone gives a result expressed in the practice zone."""
    start = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    result = add(start, parse_duration("1 hour"), us, NY)
    assert isinstance(result, datetime)
    assert result.tzinfo is NY
    assert result == datetime(2026, 6, 1, 7, 0, tzinfo=NY)


def test_out_of_range_is_duration_error(us: BusinessCalendar) -> None:
    """A result past year 9999 is a ``DurationError``, not a crash."""
    for start, text in [
        (date(9999, 12, 1), "2 months"),
        (date(9999, 12, 1), "1 year"),
        (date(9999, 12, 1), "40 days"),
        (date(9999, 12, 1), "999999999999 days"),
        (date(9999, 12, 1), "30 business days"),
        (datetime(9999, 12, 31, 23, 0), "2 hours"),
    ]:
        with pytest.raises(DurationError, match="out of range"):
            add(start, parse_duration(text), BusinessCalendar(), NY)


def test_sign_must_be_one_or_minus_one(us: BusinessCalendar) -> None:
    """Any other sign is a programming error."""
    with pytest.raises(ValueError, match="sign"):
        add(date(2026, 1, 1), parse_duration("1 day"), us, NY, sign=0)


def test_unknown_country_surfaces_as_value_error() -> None:
    """A bad country is reported as such, not disguised as an out-of-range duration."""
    calendar = BusinessCalendar(package_holidays("XX"))
    with pytest.raises(ValueError, match="unknown country code 'XX'") as raised:
        add(date(2026, 1, 5), parse_duration("1 business day"), calendar, NY)
    assert not isinstance(raised.value, DurationError)
